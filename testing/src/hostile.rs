//! Hostile input for property tests of parsers: seeded, so a failure reproduces.

/// Generates strings made to break parsers: delimiters of every header and list grammar
/// Beacon reads (`,;=-@:/[]%"`), hex digits of both cases, whitespace, control characters,
/// multi-byte UTF-8, empty and long values. The same seed gives the same sequence.
///
/// ```
/// let mut gen = beacon_test::HostileStrings::new(7);
/// let a: Vec<String> = (0..3).map(|_| gen.next_string(40)).collect();
/// let mut again = beacon_test::HostileStrings::new(7);
/// assert_eq!(a, (0..3).map(|_| again.next_string(40)).collect::<Vec<_>>());
/// ```
#[derive(Debug, Clone)]
pub struct HostileStrings {
    state: u64,
}

const PIECES: &[&str] = &[
    ",",
    ";",
    "=",
    "-",
    "@",
    ":",
    "/",
    "[",
    "]",
    "%",
    "\"",
    " ",
    "\t",
    "\n",
    "\r",
    "\0",
    "\u{7f}",
    "0",
    "1",
    "9",
    "a",
    "f",
    "A",
    "F",
    "g",
    "z",
    "_",
    "*",
    "+",
    ".",
    "?",
    "&",
    "#",
    "\\",
    "00",
    "ff",
    "01",
    "-01",
    "00-",
    "é",
    "日本",
    "\u{feff}",
    "\u{fffd}",
    "%zz",
    "%2C",
    "true",
    "TRUE",
    "none",
    "http://",
    "https://",
    "localhost",
    "[::1]",
    ":4317",
    ":99999",
    "0x10",
    "-1",
    "1e309",
    "NaN",
    "inf",
    "18446744073709551616",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "00f067aa0ba902b7",
    "traceparent",
    "b3",
    "k=v",
    "a@b",
    "key",
    "token",
];

impl HostileStrings {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next pseudo-random number (splitmix64).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// A number below `bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }

    /// A string of up to about `max_pieces` pieces; now and then a very long one.
    pub fn next_string(&mut self, max_pieces: usize) -> String {
        let pieces = if self.below(50) == 0 {
            max_pieces * 100
        } else {
            self.below(max_pieces + 1)
        };
        let mut out = String::new();
        for _ in 0..pieces {
            out.push_str(PIECES[self.below(PIECES.len())]);
        }
        out
    }
}

/// Trace and span ids from a seed, for tests whose outcome depends on the ids (ratio and tail
/// samplers): the same seed gives the same ids, so a statistical assertion is repeatable.
/// Pass it to `beacon::Builder::id_generator` or an SDK tracer provider.
#[derive(Debug)]
pub struct SeededIds {
    state: std::sync::atomic::AtomicU64,
}

impl SeededIds {
    /// Ids from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: std::sync::atomic::AtomicU64::new(seed),
        }
    }

    fn next(&self) -> u64 {
        let z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(z)
    }
}

/// The splitmix64 output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl opentelemetry_sdk::trace::IdGenerator for SeededIds {
    fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
        opentelemetry::trace::TraceId::from(
            (u128::from(self.next()) << 64) | u128::from(self.next()),
        )
    }

    fn new_span_id(&self) -> opentelemetry::trace::SpanId {
        opentelemetry::trace::SpanId::from(self.next() | 1)
    }
}
