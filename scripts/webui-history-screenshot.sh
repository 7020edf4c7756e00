#!/usr/bin/env bash
# Saves docs/webui-history.png: the Temporal Web UI's view of one delivery
# workflow (attempts as local activities, waits as timers), from a running
# `webhookd dev`. The workflow list screenshot (docs/webui-deliveries.png) is
# taken by TestWebUIFindsDeliveriesByWebhookId with WEBHOOKD_SCREENSHOT_DIR=docs.
#
# Usage: scripts/webui-history-screenshot.sh <workflow id> [ui base URL]
# Needs Debian's chromium and Node.js; installs playwright-core into a temp dir
# (the history page long-polls, which the plain chromium CLI cannot wait out).
set -euo pipefail
wf="${1:?workflow id, e.g. delivery-0190...}"
ui="${2:-http://127.0.0.1:8233}"
out="$(cd "$(dirname "$0")/.." && pwd)/docs/webui-history.png"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm install --silent playwright-core@1.64.1 >/dev/null)
cat > "$tmp/shot.mjs" <<'JS'
import { chromium } from 'playwright-core';
const [ui, wf, out] = process.argv.slice(2);
// The history page needs the run id: ask the UI server's own API.
const list = await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId="${wf}"`)}`);
const runId = (await list.json()).executions[0].execution.runId;
const url = `${ui}/namespaces/default/workflows/${wf}/${runId}/history`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu',
  '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(url);
await page.getByText('Event History').first().waitFor({ timeout: 20000 });
await page.waitForTimeout(4000); // the timeline draws after the history loads
await page.screenshot({ path: out });
await browser.close();
JS
node "$tmp/shot.mjs" "$ui" "$wf" "$out"
echo "wrote $out"
