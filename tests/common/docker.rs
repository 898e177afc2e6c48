//! Real containers for the tests: the test image (Debian's busybox-static, `docker import`ed by
//! scripts/test-image.sh), containers removed when dropped, and a loud skip without a daemon.
#![allow(dead_code)]

use std::process::Command;

pub fn docker_available() -> bool {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("\n*** SKIPPING: no Docker daemon reachable; docker tests did not run ***\n");
    }
    ok
}

pub fn image() -> String {
    // One build per test binary: tests run in parallel and apt/docker import should not race.
    static IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IMAGE.get_or_init(build_image).clone()
}

fn build_image() -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-image.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("run test-image.sh");
    assert!(
        out.status.success(),
        "test-image.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A container removed when the test ends.
pub struct Container {
    pub id: String,
}

impl Container {
    pub fn run(args: &[&str], script: &str) -> Container {
        let img = image();
        let out = Command::new("docker")
            .arg("run")
            .arg("-d")
            .args(args)
            .arg(&img)
            .args(["sh", "-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Container {
            id: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        }
    }
    pub fn docker(&self, args: &[&str]) {
        let out = Command::new("docker").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.id]).output();
    }
}

pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000)
        .unwrap_or(0);
    format!("{prefix}-{}-{n}", std::process::id())
}
