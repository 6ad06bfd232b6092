//! Prints one line per packet: number, interface, link type, timestamp, lengths.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: dump FILE")?;
    let mut r = xconnect_capture::CaptureReader::open(&path)?;
    let mut n = 0u64;
    while let Some(p) = r.next_packet()? {
        n += 1;
        println!("{n}\t{}\t{}\t{}\t{}\t{}", p.interface, p.link_type, p.ts_ns, p.orig_len, p.data.len());
    }
    Ok(())
}
