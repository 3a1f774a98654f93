// htm bound to Preact: components are tagged templates, no build-time JSX.
import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);
