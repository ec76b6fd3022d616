//! Fuzz target `flow_table`: see `smbtriage_fuzz::flow_table`. Under `cargo fuzz` a libFuzzer target;
//! built plainly, it replays files or runs the random driver (see fuzz/README.md).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| smbtriage_fuzz::flow_table(data));

#[cfg(not(fuzzing))]
fn main() {
    std::process::exit(smbtriage_fuzz::driver::main(
        "flow_table",
        smbtriage_fuzz::flow_table,
    ));
}
