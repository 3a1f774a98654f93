/**
 * The editor configuration every session gets (the contract's start step 2: "Creates editor configuration
 * ConfigMap (Helix + Zellij)"): defaults for Helix and Zellij, which the repository's `.kodama/configs/`
 * files override key by key. Pure data; `editor.enabled: false` leaves the ConfigMap out.
 *
 * In the pod the session copies them into `~/.config/helix` and `~/.config/zellij` on the home volume:
 * a repository's file replaces the copy at every pod start (the repository decides), a default only
 * fills a file that is missing (edits made in the session are never overwritten by a default).
 */

/** Helix: readable in any terminal, LSP hints on, and a visible ruler for commit messages and code. */
const HELIX_CONFIG =
  `# kodama default Helix config (override with .kodama/configs/helix-config.toml in the repository)
theme = "default"

[editor]
line-number = "relative"
cursorline = true
color-modes = true
true-color = true
bufferline = "multiple"
rulers = [100]
idle-timeout = 250

[editor.cursor-shape]
insert = "bar"
normal = "block"
select = "underline"

[editor.file-picker]
hidden = false

[editor.indent-guides]
render = true

[editor.lsp]
display-inlay-hints = true

[editor.statusline]
left = ["mode", "spinner", "file-name", "file-modification-indicator"]
right = ["diagnostics", "selections", "position", "file-encoding"]
`;

/** Helix languages: the built-in language list stays; this only adds formatting on save for a few. */
const HELIX_LANGUAGES = `# kodama default Helix languages (override with .kodama/configs/helix-languages.toml)
[[language]]
name = "typescript"
auto-format = true

[[language]]
name = "rust"
auto-format = true

[[language]]
name = "go"
auto-format = true
`;

/** Zellij: no pane frames, compact status, and a scrollback big enough for agent output. */
const ZELLIJ_CONFIG =
  `// kodama default Zellij config (override with .kodama/configs/zellij-config.kdl in the repository)
pane_frames false
default_layout "compact"
simplified_ui true
scroll_buffer_size 50000
copy_on_select true
mouse_mode true
session_serialization true
`;

/** The default files, by ConfigMap key (the same keys as a repository's `.kodama/configs/`). */
export const EDITOR_DEFAULTS: Readonly<Record<string, string>> = {
  "helix-config.toml": HELIX_CONFIG,
  "helix-languages.toml": HELIX_LANGUAGES,
  "zellij-config.kdl": ZELLIJ_CONFIG,
};

/** The ConfigMap's data: the defaults, each replaced by the repository's file of the key when there is one. */
export function editorData(repo: Record<string, string>): Record<string, string> {
  return { ...EDITOR_DEFAULTS, ...repo };
}
