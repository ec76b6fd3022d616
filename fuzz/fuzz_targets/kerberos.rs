//! Fuzz target `kerberos`: see `smbtriage_fuzz::kerberos`. Under `cargo fuzz` a libFuzzer target;
//! built plainly, it replays files or runs the random driver (see fuzz/README.md).
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| smbtriage_fuzz::kerberos(data));

#[cfg(not(fuzzing))]
fn main() {
    std::process::exit(smbtriage_fuzz::driver::main(
        "kerberos",
        smbtriage_fuzz::kerberos,
    ));
}
