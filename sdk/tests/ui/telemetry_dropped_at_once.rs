// `beacon::init()?;` without a binding drops the guard at once, shutting telemetry down: the
// compiler says so (here as an error, with the lint denied).
#![deny(unused_must_use)]

fn main() -> Result<(), beacon::InitError> {
    beacon::init()?;
    Ok(())
}
