// The embed example: the trainer's model goes to the classifier; a model file can be loaded too.
import "./widgets.js";

const classifier = document.getElementById("classifier");
const show = (bytes) => classifier.setAttribute("model", URL.createObjectURL(new Blob([bytes])));
document.getElementById("trainer").addEventListener("model", (e) => show(e.detail.bytes));
document.getElementById("model-file").addEventListener("change", async (e) => {
  if (e.target.files[0]) show(new Uint8Array(await e.target.files[0].arrayBuffer()));
});
classifier.addEventListener("prediction", (e) => {
  document.getElementById("label").textContent = `${e.detail.label} (${Math.round(e.detail.probability * 100)} %)`;
});
