#[beacon::instrument(level = "loud")]
fn work() {}

fn main() {
    work();
}
