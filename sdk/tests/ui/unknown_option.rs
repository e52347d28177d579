#[beacon::instrument(metric)]
fn work() {}

fn main() {
    work();
}
