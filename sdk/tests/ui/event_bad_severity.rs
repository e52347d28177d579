#[derive(beacon::Event)]
#[event(name = "x.y", severity = "loud")]
struct Loud {
    id: u64,
}

fn main() {}
