//! `remove_unfinished` (what a binary calls on SIGINT/SIGTERM) removes the temporary file of a
//! writer that has not finished. Alone in its own test binary: the list it empties is global.

use xconnect_capture::{remove_unfinished, PcapWriter};

#[test]
fn unfinished_files_are_removed_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = PcapWriter::create(dir.path().join("x.pcap"), 65535).unwrap();
    w.write_packet(0, xconnect_frame::LinkType::Ethernet, &[0; 64], 64).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary file");
    remove_unfinished();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    drop(w);
}
