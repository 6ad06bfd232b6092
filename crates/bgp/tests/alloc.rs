//! Decoding a stream of UPDATEs into one reused `Update` allocates nothing once its buffers
//! have grown, and gives what `Message::decode` gives. The allocator of this test binary counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};

use ipnet::Ipv4Net;
use xconnect_bgp::wire::{AsPath, DecodeCtx, Message, MessageReader, Origin, PathAttributes, Update, UpdateBuffer};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// UPDATEs of 1 to 40 prefixes with paths of 1 to 3 segments, some with communities, some
/// withdrawals only, as a full table arrives.
fn stream() -> Vec<u8> {
    let mut out = Vec::new();
    let mut x = 7u32;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for i in 0..3000u32 {
        let n = 1 + next() % 40;
        let prefixes: Vec<Ipv4Net> =
            (0..n).map(|_| Ipv4Net::new(Ipv4Addr::from(next()), 8 + (next() % 25) as u8).unwrap().trunc()).collect();
        let path = AsPath::sequence((0..1 + next() % 6).map(|_| 1 + next() % 400_000).collect());
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(path),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: (i % 3 == 0).then_some(i),
            communities: if i % 2 == 0 { vec![next(), next()] } else { vec![] },
            ..PathAttributes::default()
        };
        let u = if i % 10 == 9 {
            Update { withdrawn: prefixes, ..Update::default() }
        } else {
            Update { attrs, nlri: prefixes, ..Update::default() }
        };
        out.extend(Message::Update(u).encode(true));
    }
    out
}

#[test]
fn a_stream_of_updates_decodes_without_allocating() {
    let bytes = stream();
    let ctx = DecodeCtx::default();
    let decode_all = |buf: &mut UpdateBuffer, check: bool| {
        let mut r = MessageReader::default();
        r.push(&bytes);
        let (mut messages, mut prefixes) = (0u64, 0usize);
        while let Some(m) = r.next_message().unwrap() {
            assert!(Message::decode_reusing(m, ctx, buf).unwrap().is_none(), "every message is an UPDATE");
            let update = buf.update();
            if check {
                assert_eq!(Message::decode(m, ctx).unwrap(), Message::Update(update.clone()), "message {messages}");
            }
            messages += 1;
            prefixes += update.nlri.len() + update.withdrawn.len();
        }
        (messages, prefixes)
    };
    let mut buf = UpdateBuffer::default();
    // First pass: the same as `Message::decode`, and the buffers grow.
    let (messages, prefixes) = decode_all(&mut buf, true);
    assert_eq!(messages, 3000);
    assert!(prefixes > 50_000);
    // Second pass: the reader's buffer is allocated once; decoding allocates nothing per message.
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    decode_all(&mut buf, false);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    // The reader's buffer, and nothing per message.
    assert!(allocations <= 2, "{allocations} allocations for {messages} messages");
}
