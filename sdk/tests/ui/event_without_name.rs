#[derive(beacon::Event)]
struct Unnamed {
    id: u64,
}

fn main() {}
