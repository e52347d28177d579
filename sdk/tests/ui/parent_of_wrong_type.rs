#[beacon::instrument(parent = id)]
fn handle(id: u64) -> u64 {
    id
}

fn main() {
    let _ = handle(1);
}
