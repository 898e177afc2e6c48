//! What `test-output` runs: DescribeLogGroups with the group template's fixed prefix, which
//! proves the region, the credentials and the network path without writing anything.

use super::classify::explain;
use super::Cloudwatch;
use crate::output::OutputError;

impl Cloudwatch {
    /// The region, and how many groups the credentials can see under the prefix.
    pub(super) async fn check_region(&self) -> Result<String, OutputError> {
        let prefix = self.group.prefix();
        let client = self.client().await;
        let region = client
            .config()
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| {
                OutputError::new(
                    "config",
                    "no AWS region: set `region`, AWS_REGION, or a profile's region",
                )
            })?;
        let mut req = client.describe_log_groups().limit(5);
        if !prefix.is_empty() {
            req = req.log_group_name_prefix(&prefix);
        }
        let out = req.send().await.map_err(|e| {
            explain(
                &format!("DescribeLogGroups (region {region})"),
                &e,
                self.cfg.timeout.0,
            )
        })?;
        let n = out.log_groups().len();
        Ok(format!(
            "region {region}: credentials accepted; {n}{} log group(s) with prefix {prefix:?}",
            if out.next_token().is_some() { "+" } else { "" }
        ))
    }
}
