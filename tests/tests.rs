//! citebot's integration tests: one binary (so the crate and its helpers
//! compile once), a module an area. Helpers live in `util`, the fake Discord
//! in `fake_discord`, the fuzzer's checks in `fuzz_checks`.

mod fake_discord;
mod fuzz_checks;
mod util;

mod cli;
mod corpus_seed;
mod discord;
mod eval_floor;
mod formats;
mod fuzz_regressions;
mod hardening;
mod ranking;
mod regressions;
