fn always(_: &Result<u8, String>) -> bool {
    true
}

#[beacon::instrument(err, ok_if = always)]
fn check() -> Result<u8, String> {
    Ok(1)
}

fn main() {
    let _ = check();
}
