// The usual webpack 5 set-up of a small app: one entry, its HTML page, static files from
// public/ in the dev server. Nothing in it is about magpie.
import HtmlWebpackPlugin from "html-webpack-plugin";

export default {
  entry: "./src/index.js",
  output: { clean: true },
  plugins: [new HtmlWebpackPlugin({ template: "./index.html" })],
  devServer: { static: "public", host: "127.0.0.1" },
};
