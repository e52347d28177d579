const CHECKOUT: beacon::slo::Objective = beacon::slo::Objective::new("checkout").success_rate(99.9);

#[beacon::instrument(objective = CHECKOUT)]
fn work() {}

fn main() {
    work();
}
