// Resolve manifest.json's mcp_config with mcpb's own getMcpConfigForManifest, as Claude Desktop does.
// Usage: node mcpb_resolve.mjs <manifest.json> <user config JSON> <extension dir>; prints the config.
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";
import { readFileSync } from "node:fs";

const [manifestPath, userJson, extensionPath] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath,
  systemDirs: {},
  userConfig: JSON.parse(userJson),
  pathSeparator: "/",
});
process.stdout.write(JSON.stringify(config ?? null));
