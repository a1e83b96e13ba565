// Browser test of the built site, in Debian's chromium driven by playwright-core.
//
// Env: BASE_URL (the site served over HTTP, ending in /), CHROMIUM (executable),
// ARTEFACTS (folder for screenshots and the figures), QUERY (a query with results),
// QUERY2 (a second query, for a warm index), QUERIES (more queries, comma-separated: time
// to first result and bytes transferred of each, typed into the header box).
// Accessibility: axe-core (when installed) on the index, search, rule and technique pages,
// in the light and the dark colour scheme; serious or critical violations fail the test.
// Phone width (390 px): no page scrolls sideways; screenshots of the rule and index pages.
// Steps: home page; type-ahead in the header box; a second query; Enter to the search page;
// a vendor filter; open rules from the results until one has a technique link and a
// data-source link; follow both. Fails on any console error, page error, failed request
// or HTTP error status of the site. Writes screenshots and figures.json to ARTEFACTS.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const BASE = process.env.BASE_URL;
const EXE = process.env.CHROMIUM || "/usr/bin/chromium";
const OUT = process.env.ARTEFACTS || "browser-artefacts";
const QUERY = process.env.QUERY || "powershell";
const QUERY2 = process.env.QUERY2 || "okta";
const QUERIES = (process.env.QUERIES || "").split(",").map((q) => q.trim()).filter(Boolean);
const DATA_SOURCE_DIRS = ["data-sources", "logsources", "tables", "index-patterns", "log-types"];
if (!BASE) throw new Error("BASE_URL is not set");
fs.mkdirSync(OUT, { recursive: true });

const problems = [];
const requests = []; // {url, bytes, t}
const figures = { base: BASE };
const origin = new URL(BASE).origin;
const userDir = fs.mkdtempSync(path.join(OUT, "profile-"));

const ctxBrowser = await chromium.launchPersistentContext(userDir, {
  executablePath: EXE,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const page = ctxBrowser.pages()[0] || (await ctxBrowser.newPage());
page.setDefaultTimeout(20000);

page.on("console", (m) => {
  if (m.type() === "error") {
    const at = m.location() && m.location().url ? ` (${m.location().url})` : "";
    problems.push(`console error on ${page.url()}: ${m.text()}${at}`);
  }
});
page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
page.on("requestfailed", (r) => {
  const why = r.failure() ? r.failure().errorText : "unknown";
  // A fetch cut short by a navigation is not a broken request.
  if (why === "net::ERR_ABORTED") return;
  problems.push(`request failed: ${r.url()} (${why})`);
});
page.on("response", (r) => {
  if (r.url().startsWith(origin) && r.status() >= 400) {
    problems.push(`HTTP ${r.status()}: ${r.url()}`);
  }
});
page.on("requestfinished", async (r) => {
  try {
    const s = await r.sizes();
    requests.push({ url: r.url(), bytes: s.responseBodySize + s.responseHeadersSize, t: Date.now() });
  } catch (_) {
    /* page closed */
  }
});

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}
async function settle() {
  await page.waitForLoadState("networkidle");
}
function bytesSince(mark) {
  const rs = requests.slice(mark);
  return { requests: rs.length, bytes: rs.reduce((a, r) => a + r.bytes, 0),
    files: rs.map((r) => r.url.replace(origin, "")) };
}
async function shot(name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
}
// axe-core, when npm could install it (else the accessibility check is skipped).
let axeSource = null;
try {
  axeSource = fs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
} catch (_) {
  console.log("note: axe-core is not installed; the accessibility check is skipped");
}
figures.accessibility = {};
/** Runs axe-core on the current page in both colour schemes; serious and critical
 * violations are problems, the others are counted in the figures. */
async function axe(name) {
  if (!axeSource) return;
  const found = {};
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.evaluate(axeSource);
    const res = await page.evaluate(() =>
      window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
        r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }))));
    for (const v of res) {
      if (v.impact === "serious" || v.impact === "critical") {
        problems.push(`accessibility (${name}, ${scheme}): ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(", ")}`);
      }
      found[`${scheme}:${v.id}`] = v.impact;
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  figures.accessibility[name] = found;
}
async function lastSearch() {
  return page.evaluate(() => window.ruledexSearch && window.ruledexSearch.last);
}

try {
  // 1. home page, no search download before the box is used
  await page.goto(BASE);
  await settle();
  await shot("index");
  check(await page.locator("form.site-search input[name=q]").count() === 1, "search box on the home page");
  check(!requests.some((r) => r.url.includes("/pagefind/")), "no index download on page load");
  figures.home_bytes = bytesSince(0).bytes;
  await axe("index");

  // 2. type-ahead, cold: first focus loads Pagefind, then the query's chunks
  let mark = requests.length;
  const box = page.locator("form.site-search input[name=q]");
  await box.click();
  const t0 = Date.now();
  await box.fill(QUERY);
  await page.locator(".search-pop .search-hit").first().waitFor();
  figures.cold_first_result_ms = Date.now() - t0;
  figures.cold_search_ms = (await lastSearch()).ms;
  await settle();
  figures.cold_query = { query: QUERY, ...bytesSince(mark) };
  figures.cold_query.total = (await lastSearch()).total;
  await shot("typeahead");

  // 3. a second query: only its own index chunks and fragments
  mark = requests.length;
  await page.evaluate(() => { window.ruledexSearch.last = null; });
  const t1 = Date.now();
  await box.fill(QUERY2);
  await page.waitForFunction((q) => window.ruledexSearch.last && window.ruledexSearch.last.query === q, QUERY2);
  figures.warm_first_result_ms = Date.now() - t1;
  figures.warm_search_ms = (await lastSearch()).ms;
  await settle();
  figures.warm_query = { query: QUERY2, ...bytesSince(mark), total: (await lastSearch()).total };
  check(figures.warm_query.total > 0, `results for ${QUERY2}`);

  // 3b. more queries (the corpus figures): time to the first result shown, bytes fetched
  figures.queries = [];
  for (const q of QUERIES) {
    mark = requests.length;
    await page.evaluate(() => { window.ruledexSearch.last = null; });
    const tq = Date.now();
    await box.fill(q);
    await page.waitForFunction((x) => window.ruledexSearch.last && window.ruledexSearch.last.query === x, q);
    const last = await lastSearch();
    if (last.total > 0) await page.locator(".search-pop .search-hit").first().waitFor();
    const ms = Date.now() - tq;
    await settle();
    figures.queries.push({ query: q, first_result_ms: ms, search_ms: last.ms, total: last.total, ...bytesSince(mark) });
  }

  // 4. Enter opens the search page with the query
  await box.fill(QUERY);
  await Promise.all([page.waitForURL(/search\.html\?q=/), box.press("Enter")]);
  await page.locator("#search-results .search-hit").first().waitFor();
  await settle();
  check((await page.locator("#search-q").inputValue()) === QUERY, "query carried to the search page");

  // 5. a vendor filter: the vendor with the most results for this query
  const options = await page.locator("#filter-vendor option").evaluateAll((os) =>
    os.map((o) => o.value).filter(Boolean));
  check(options.length > 0, "vendor filter options");
  let vendor = null;
  let best = -1;
  mark = requests.length;
  for (const v of options) {
    await page.evaluate(() => { window.ruledexSearch.last = null; });
    await page.selectOption("#filter-vendor", v);
    await page.waitForFunction(() => window.ruledexSearch.last);
    const n = (await lastSearch()).total;
    if (n > best) { best = n; vendor = v; }
  }
  figures.vendor_filters = { query: QUERY, vendors: options.length, ...bytesSince(mark) };
  mark = requests.length;
  await page.evaluate(() => { window.ruledexSearch.last = null; });
  await page.selectOption("#filter-vendor", vendor);
  await page.waitForFunction(() => window.ruledexSearch.last);
  await settle();
  figures.filtered_query = { query: QUERY, vendor, ...bytesSince(mark), total: (await lastSearch()).total,
    ms: (await lastSearch()).ms };
  const facts = await page.locator("#search-results .search-facts").allTextContents();
  check(facts.length > 0, `results for ${QUERY} with vendor ${vendor}`);
  check(facts.every((f) => f.startsWith(vendor)), `every result of vendor ${vendor}: ${facts.join(" | ")}`);
  check(page.url().includes("vendor="), "filter kept in the URL");
  await shot("search");
  await axe("search");

  // 6. open results until a rule page has a technique and a data-source link
  const hits = await page.locator("#search-results .search-hit > a").evaluateAll((as) => as.map((a) => a.href));
  let found = null;
  for (const href of hits) {
    await page.goto(href);
    await settle();
    const hrefs = await page.locator("main a[href]").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    const tech = hrefs.find((h) => /(^|\/)techniques\/t[^/]*\.html$/.test(h));
    const ds = hrefs.find((h) => DATA_SOURCE_DIRS.some((d) => h.includes(`${d}/`) && !h.endsWith("/index.html")));
    if (tech && ds) { found = { rule: href, tech, ds }; break; }
  }
  if (!found) {
    throw new Error(`no result of "${QUERY}" (${vendor}) has a technique and a data-source link`);
  }
  figures.rule = found.rule.replace(origin, "");
  await shot("rule");
  await page.locator("#raw pre").first().screenshot({ path: path.join(OUT, "rule-file.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await shot("rule-dark");
  await page.locator("#raw pre").first().screenshot({ path: path.join(OUT, "rule-file-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  check((await page.locator("#raw pre.code [class^=hl-]").count()) > 0, "the rule file is highlighted");
  await axe("rule");
  const h1 = await page.locator("main h1").first().textContent();
  check(h1 && h1.trim().length > 0, "rule page has a title");
  const anchors = await page.locator("main a.heading-anchor").evaluateAll((as) =>
    as.map((a) => [a.getAttribute("href"), !!document.getElementById(a.getAttribute("href").slice(1))]));
  check(anchors.length > 0, "heading anchors on the rule page");
  check(anchors.every(([, ok]) => ok), `heading anchors resolve: ${JSON.stringify(anchors)}`);

  await Promise.all([page.waitForURL(/techniques\//), page.locator(`main a[href='${found.tech}']`).first().click()]);
  await settle();
  check((await page.locator("main h1").count()) > 0, "technique page has a heading");
  await shot("technique");
  await axe("technique");

  await page.goBack();
  await settle();
  await Promise.all([page.waitForURL((u) => DATA_SOURCE_DIRS.some((d) => u.pathname.includes(`/${d}/`))),
    page.locator(`main a[href='${found.ds}']`).first().click()]);
  await settle();
  check((await page.locator("main a[href*='rules/']").count()) > 0, "data-source page lists rules");
  await shot("data-source");

  // 7. keyboard: "/" focuses the search box; the skip link is the first tab stop
  await page.keyboard.press("/");
  check(await page.evaluate(() => document.activeElement && document.activeElement.name === "q"),
    "\"/\" focuses the search box");
  await page.evaluate(() => document.activeElement.blur());
  await page.goto(found.rule);
  await settle();
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.classList.contains("skip")), "skip link first");
  await shot("skip-link");

  // 8. phone width: nothing scrolls sideways but code and tables in their own boxes
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [name, url] of [["rule-phone", found.rule], ["index-phone", BASE], ["technique-phone", new URL(found.tech, found.rule).href]]) {
    await page.goto(url);
    await settle();
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(wide <= 0, `${name}: the page is ${wide}px wider than the phone screen`);
    await shot(name);
  }
} catch (e) {
  problems.push(String(e && e.stack ? e.stack : e));
  await shot("failure").catch(() => {});
} finally {
  await ctxBrowser.close();
  fs.rmSync(userDir, { recursive: true, force: true });
}

figures.problems = problems;
fs.writeFileSync(path.join(OUT, "figures.json"), JSON.stringify(figures, null, 2));
const brief = (q) => q && `${q.requests} requests, ${q.bytes} bytes`;
console.log(`home page: ${figures.home_bytes} bytes`);
console.log(`cold query "${QUERY}": first result ${figures.cold_first_result_ms} ms (search ${figures.cold_search_ms} ms), ${brief(figures.cold_query)}`);
console.log(`warm query "${QUERY2}": first result ${figures.warm_first_result_ms} ms (search ${figures.warm_search_ms} ms), ${brief(figures.warm_query)}`);
console.log(`each of ${figures.vendor_filters.vendors} vendor filters on "${QUERY}": ${brief(figures.vendor_filters)} in all`);
for (const q of figures.queries || []) {
  console.log(`query "${q.query}": first result ${q.first_result_ms} ms (search ${q.search_ms} ms, ${q.total} results), ${q.requests} requests, ${q.bytes} bytes`);
}
if (axeSource) {
  const minor = Object.entries(figures.accessibility).map(([p, v]) => `${p}: ${Object.keys(v).length}`).join(", ");
  console.log(`accessibility (axe-core, light and dark): violations of any impact per page: ${minor}`);
}
console.log(`filtered query (vendor ${figures.filtered_query.vendor}, ${figures.filtered_query.total} results): ${figures.filtered_query.ms} ms`);
if (problems.length) {
  console.error(`FAILED: ${problems.length} problem(s):\n` + problems.map((p) => "  - " + p).join("\n"));
  process.exit(1);
}
console.log(`ok: screenshots and figures.json in ${OUT}`);
