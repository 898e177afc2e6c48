//! What the server's answer means. Beats has no per-record result: the server answers `2A` +
//! the highest sequence of the window it has (0, or the same number again, is a keepalive while
//! it works), so an answer moves the acknowledged prefix of the oldest window in flight, or is a
//! protocol error that ends the connection (the unacknowledged rest is sent again).

/// An ACK frame is this long: `2A` + a 32-bit sequence.
pub const ACK_LEN: usize = 6;

/// The sequence number of an ACK frame, or None if the bytes are not one.
pub fn parse_ack(frame: &[u8; ACK_LEN]) -> Option<u32> {
    (frame[0] == b'2' && frame[1] == b'A')
        .then(|| u32::from_be_bytes([frame[2], frame[3], frame[4], frame[5]]))
}

/// What ACK `seq` does to a window of `count` events of which `acked` are acknowledged.
#[derive(Debug, PartialEq, Eq)]
pub enum Ack {
    /// The server is still working on the window.
    Keepalive,
    /// The first `seq` events are safe; the window waits for the rest.
    Progress,
    /// The whole window is safe.
    Complete,
    /// Not an answer to this window: the connection is unusable.
    Invalid(String),
}

pub fn classify(seq: u32, count: u32, acked: u32) -> Ack {
    if seq == 0 || seq == acked {
        return Ack::Keepalive;
    }
    if seq < acked || seq > count {
        return Ack::Invalid(format!(
            "protocol error: ACK {seq} for a window of {count} events (already acked {acked})"
        ));
    }
    if seq == count {
        Ack::Complete
    } else {
        Ack::Progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_frames() {
        assert_eq!(parse_ack(b"2A\0\0\x01\x00"), Some(256));
        assert_eq!(parse_ack(b"1A\0\0\0\0"), None);
    }

    #[test]
    fn acks_of_a_window() {
        assert_eq!(classify(0, 10, 3), Ack::Keepalive);
        assert_eq!(classify(3, 10, 3), Ack::Keepalive);
        assert_eq!(classify(5, 10, 3), Ack::Progress);
        assert_eq!(classify(10, 10, 3), Ack::Complete);
        assert!(matches!(classify(2, 10, 3), Ack::Invalid(_)));
        assert!(matches!(classify(11, 10, 3), Ack::Invalid(_)));
    }
}
