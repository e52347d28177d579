#[beacon::instrument(err)]
fn work() -> u32 {
    1
}

fn main() {
    work();
}
