#[derive(beacon::Event)]
#[event(name = "x.y")]
struct Bytes {
    data: Vec<u8>,
}

fn main() {}
