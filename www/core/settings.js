// Training settings as the page shows them (flat, as the project file keeps them). Their
// defaults, limits and cleaning, and their translation into the JS API's `train` options, are
// defined once, in Rust (`src/train_config.rs`, `src/settings.rs`), and asked of the engine.
import { api, client } from "../engine/client.js";

/** `{ defaults, limits }`: every setting's default and the `{ min, max }` of each number
 * (constants of the engine, read when it started). */
export const catalogue = () => client.catalogue.trainingSettings;

/** `settings` with unknown keys dropped, bad values replaced by defaults, numbers clamped. */
export const clean = (settings = {}) => api.cleanSettings(settings);

/** The `train` options of the JS API for these settings. */
export const trainOptions = (settings) => api.trainOptions(settings);
