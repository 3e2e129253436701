//! The JavaScript API (wasm-bindgen). Everything async returns a Promise; every error is a
//! rejected Promise with a message, never a panic across the boundary.

mod backbone_weights;
mod backends;
mod catalogue;
mod codec;
mod error;
mod fault;
mod fetch;
mod few_shot;
mod imagenet;
mod options;
mod project;
mod settings;
mod source;
mod types;

pub use catalogue::{backbone_choices, backbones};
pub use few_shot::FewShotSession;
pub use imagenet::ImageNetModel;
pub use project::{class_folders, project_file, read_project, write_project};
pub use settings::{clean_settings, train_options, training_settings};

use wasm_bindgen::prelude::*;

unsafe extern "C" {
    /// The static constructors (pliron's `inventory` registrations, through cubecl), which
    /// wasm-ld synthesizes.
    fn __wasm_call_ctors();
}

/// Runs the static constructors once and installs the panic hook (see [`fault`]). Unless some
/// export calls the constructors itself, wasm-ld links the module "command-style" and runs them
/// again at the start of every export, each call from JavaScript included: 7 % of a CPU frame.
#[wasm_bindgen(start)]
pub fn start() {
    // SAFETY: called once, when the instance starts and before any other Rust code runs.
    unsafe { __wasm_call_ctors() };
    fault::install_hook();
}
