use health_axum::prelude::*;

#[health_check]
struct Database;

fn main() {}
