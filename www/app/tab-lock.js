// One tab at a time saves a project: the tab that opens it holds a Web Lock named after it.
// A second tab opening the same project finds the lock taken and works read-only, so it never
// silently overwrites the first tab's saves; it may take the lock over, and the first tab is
// told that it lost it.

/** The lock's name for project `id`. */
const nameOf = (id) => `magpie.project.${id}`;

/** Tries to hold project `id`'s lock (taking it from another tab when `steal`). Resolves to
 * `{ held, release() }`; `lost()` is called if another tab takes the lock later. Without the
 * Web Locks API, the project counts as held (other tabs cannot be detected). */
export async function lockProject(id, { steal = false, lost = () => {} } = {}) {
  if (!navigator.locks?.request) return { held: true, release: async () => {} };
  let unlock;
  const kept = new Promise((resolve) => { unlock = resolve; });
  let granted;
  const decided = new Promise((resolve) => { granted = resolve; });
  const request = navigator.locks.request(nameOf(id), steal ? { steal: true } : { ifAvailable: true }, (lock) => {
    granted(!!lock);
    return lock ? kept : undefined;
  }).catch((error) => {
    // A lock another tab stole ends with an AbortError; a request refused outright (no lock
    // manager for this page) leaves the project to this tab, as without the API.
    if (error?.name === "AbortError") lost();
    granted(true);
  });
  const held = await decided;
  return { held, release: async () => { unlock(); await request; } };
}
