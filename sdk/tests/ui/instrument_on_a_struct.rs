#[beacon::instrument(metrics)]
struct NotAFunction;

fn main() {}
