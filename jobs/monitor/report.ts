import { Histogram } from "../lib/histogram";
import { NUMERIC_PROPERTIES } from "../lib/image-properties";
import { NumericProperty } from "../lib/image-properties";
import { MonitorResult } from "./analysis";
import { fmt, fmtP, fmtPct } from "./format";
import { Shot } from "./window";

/**
 * report.html: one self-contained page (inline SVG, thumbnails as data URIs, no scripts, and a content
 * security policy that forbids any request) that says at a glance whether the window is healthy, then shows
 * the pictures an engineer looks at first (captured images per predicted class next to training images of
 * the class, the lowest-confidence requests, the images furthest from training on each drifted property),
 * then the evidence: class distribution baseline vs now, the confidence histogram, and each image property
 * with its drift score.
 */
export function reportHtml(r: MonitorResult): string {
    const verdict =
        r.verdict === "not-judged"
            ? {
                  cls: "quiet",
                  text: `Not judged: ${r.notJudgedReason}${r.violations.length ? ` (${r.violations.length} defect${r.violations.length === 1 ? "" : "s"} found)` : ""}`,
              }
            : r.verdict === "clean"
              ? { cls: "ok", text: "No drift or defects found" }
              : { cls: "bad", text: `${r.violations.length} violation${r.violations.length === 1 ? "" : "s"}` };
    const parts: string[] = [];
    parts.push(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Monitoring ${esc(r.endpoint)} ${esc(r.window.start.toISOString())}</title>`,
    );
    parts.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`);
    parts.push(`<style>${STYLE}</style></head><body>`);
    parts.push(`<h1>${esc(r.endpoint)}</h1>`);
    parts.push(
        `<p class="meta">Schedule ${esc(r.schedule)} · window ${esc(r.window.start.toISOString())} to ${esc(r.window.end.toISOString())}</p>`,
    );
    parts.push(`<div class="verdict ${verdict.cls}">${esc(verdict.text)}</div>`);

    parts.push('<table class="counts"><tr>');
    const counts: Array<[string, number | string]> = [
        ["records", r.counts.records],
        ["images measured", r.counts.images],
        ["predictions read", r.counts.predictions],
        ["undecodable", `${r.counts.decodeErrors} (${fmtPct(r.counts.records ? r.counts.decodeErrors / r.counts.records : 0)})`],
        ["low confidence", fmtPct(r.confidence.lowConfidenceRate)],
    ];
    if (r.quality)
        counts.push(["accuracy", `${fmt(r.quality.accuracy)} (baseline ${fmt(r.quality.baselineAccuracy)}, ${r.quality.matched} labels)`]);
    for (const [k, v] of counts) parts.push(`<td><b>${esc(String(v))}</b><br>${esc(k)}</td>`);
    parts.push("</tr></table>");

    if (r.violations.length) {
        parts.push('<h2>Violations</h2><ul class="violations">');
        for (const v of r.violations)
            parts.push(
                `<li><b>${esc(v.feature_name)}</b> <span class="check">${esc(v.constraint_check_type)}</span><br>${esc(v.description)}</li>`,
            );
        parts.push("</ul>");
    }

    parts.push(pictures(r));

    if (r.counts.predictions > 0) {
        parts.push(
            `<h2>Predicted classes</h2><p>PSI ${fmt(r.predictedClasses.psi)} · chi-square p-value ${fmtP(r.predictedClasses.chiSquare.pValue)}</p>`,
        );
        const n = r.counts.predictions;
        parts.push(
            pairedBars(
                r.classes.map((c, i) => ({
                    label: c,
                    baseline: r.predictedClasses.baselineShares[i],
                    now: r.predictedClasses.counts[i] / n,
                })),
            ),
        );
        parts.push(
            `<h2>Confidence</h2><p>PSI ${fmt(r.confidence.psi)} · mean ${fmt(r.confidence.mean)} · threshold ${r.confidence.threshold}</p>`,
        );
        parts.push(histogramBars(r.confidence.baseline, r.confidence.histogram));
    }

    if (r.counts.images > 0) {
        parts.push(`<h2>Image properties</h2><p class="note">${esc(sampleNote(r))}</p>`);
        parts.push(
            '<table class="props"><tr><th>property</th><th>mean now</th><th>mean in training</th><th>PSI</th><th>p-value</th><th></th></tr>',
        );
        const ordered = [...NUMERIC_PROPERTIES].sort((a, b) => r.properties[b].psi - r.properties[a].psi);
        for (const p of ordered) {
            const x = r.properties[p];
            parts.push(
                `<tr class="${x.drifted ? "drift" : ""}"><td>${p}</td><td>${fmt(x.summary.mean)}</td><td>${fmt(x.baseline.mean)}</td>` +
                    `<td>${fmt(x.psi)}</td><td>${fmtP(x.chiSquare.pValue)}</td><td>${x.drifted ? "drifted" : ""}</td></tr>`,
            );
        }
        parts.push("</table>");
        for (const p of ordered.filter((q) => r.properties[q].drifted)) {
            parts.push(`<h3>${p}</h3>`);
            parts.push(histogramBars(r.properties[p].baseline, r.properties[p].summary));
        }
        parts.push(
            `<p>Image types: ${esc(
                Object.entries(r.contentTypes.images)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(", ") || "none",
            )}; ` +
                `request content types: ${esc(
                    Object.entries(r.contentTypes.observed)
                        .map(([k, v]) => `${k} ${v}`)
                        .join(", ") || "none",
                )}</p>`,
        );
    }

    if (r.decodeErrorSamples.length) {
        parts.push('<h2>Undecodable records (first ones)</h2><ul class="samples">');
        for (const s of r.decodeErrorSamples) parts.push(`<li>${esc(s)}</li>`);
        parts.push("</ul>");
    }
    parts.push(`<p class="legend"><span class="sw base"></span> training baseline <span class="sw now"></span> this window</p>`);
    parts.push("</body></html>\n");
    return parts.join("\n");
}

/** What the image sample means for the property tests, in words. */
export function sampleNote(r: MonitorResult): string {
    const c = r.counts;
    return c.sampled < c.inputs
        ? `Measured on a uniform sample of ${c.sampled} of ${c.inputs} images (the smallest hashes of their event ids; at most ` +
              `${r.sampleSize} per window): the property tests have the power of a ${c.sampled}-record window, which sees a shift of ` +
              "20% of a property's distribution at least 90% of the time against a baseline of 300 images or more. Predictions and " +
              "confidence are read from every record."
        : `Every one of the ${c.inputs} images was measured (the sample holds up to ${r.sampleSize}).`;
}

const img = (s: Shot, caption: string) =>
    s.thumbnail
        ? `<figure><img alt="${esc(caption)}" src="data:image/jpeg;base64,${s.thumbnail}"><figcaption>${esc(caption)}</figcaption></figure>`
        : "";

/** Rows of thumbnails: per predicted class (with training images), lowest confidence, furthest from training. */
function pictures(r: MonitorResult): string {
    const out: string[] = [];
    const conf = (s: Shot) => (s.confidence === undefined ? "" : fmt(s.confidence));
    const training = r.shots.trainingExamples;
    const classRows = Object.keys(r.shots.byClass).length || Object.keys(training).length;
    if (classRows) {
        const n = r.counts.predictions || 1;
        // Classes whose share moved most come first, then the most predicted.
        const order = r.classes
            .map((name, i) => ({ name, now: r.predictedClasses.counts[i] / n, was: r.predictedClasses.baselineShares[i] }))
            .filter((x) => r.shots.byClass[x.name] || training[x.name])
            .sort((a, b) => Math.abs(b.now - b.was) - Math.abs(a.now - a.was) || b.now - a.now)
            .slice(0, 24);
        out.push('<h2>Captured images by predicted class</h2><table class="strips">');
        out.push("<tr><th>class</th><th>training images</th><th>captured, predicted as the class (sampled)</th></tr>");
        for (const x of order)
            out.push(
                `<tr><td><b>${esc(x.name)}</b><br><span class="small">${fmtPct(x.was)} → ${fmtPct(x.now)}</span></td>` +
                    `<td class="strip training">${(training[x.name] ?? []).map((t) => img({ where: "", eventId: "", thumbnail: t }, "training")).join("")}</td>` +
                    `<td class="strip">${(r.shots.byClass[x.name] ?? []).map((s) => img(s, conf(s))).join("") || '<span class="small">none in the sample</span>'}</td></tr>`,
            );
        out.push("</table>");
    }
    if (r.shots.lowestConfidence.length) {
        out.push('<h2>Lowest-confidence requests</h2><div class="strip">');
        out.push(
            r.shots.lowestConfidence.map((s) => img(s, `${s.predicted !== undefined ? r.classes[s.predicted] : "?"} ${conf(s)}`)).join(""),
        );
        out.push("</div>");
    }
    // The three most drifted properties; the table below lists them all.
    const drifted = Object.entries(r.shots.outliers)
        .sort(([a], [b]) => r.properties[b as NumericProperty].psi - r.properties[a as NumericProperty].psi)
        .slice(0, 3);
    for (const [p, shots] of drifted) {
        if (!shots?.length) continue;
        out.push(
            `<h2>Furthest from training on ${esc(p)}</h2><p class="small">training mean ${fmt(r.properties[p as NumericProperty].baseline.mean)}; ` +
                `captured images in the bins training saw least</p><div class="strip">`,
        );
        out.push(shots.map((s) => img(s, String(Math.round(s.value * 10) / 10))).join(""));
        out.push("</div>");
    }
    return out.join("\n");
}

interface Pair {
    readonly label: string;
    readonly baseline: number;
    readonly now: number;
}

/** Horizontal paired bars: one row per label, baseline above, now below, shares 0..1. */
function pairedBars(rows: readonly Pair[]): string {
    const shown = [...rows].sort((a, b) => Math.max(b.baseline, b.now) - Math.max(a.baseline, a.now)).slice(0, 60);
    const max = Math.max(1e-9, ...shown.map((r) => Math.max(r.baseline, r.now)));
    const rowH = 22,
        labelW = 220,
        barW = 420,
        h = shown.length * rowH + 4;
    const out = [`<svg class="chart" width="${labelW + barW + 130}" height="${h}" role="img" aria-label="class distribution">`];
    shown.forEach((r, i) => {
        const y = i * rowH + 2;
        out.push(`<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text>`);
        out.push(`<rect class="base" x="${labelW}" y="${y}" width="${(r.baseline / max) * barW}" height="9"></rect>`);
        out.push(`<rect class="now" x="${labelW}" y="${y + 10}" width="${(r.now / max) * barW}" height="9"></rect>`);
        out.push(
            `<text x="${labelW + (Math.max(r.baseline, r.now) / max) * barW + 4}" y="${y + 14}" class="small">${fmtPct(r.baseline)} → ${fmtPct(r.now)}</text>`,
        );
    });
    out.push("</svg>");
    return out.join("");
}

/** Vertical paired bars over the shared bins, each side as shares of its own total. */
function histogramBars(baseline: Histogram, now: Histogram): string {
    const bt = baseline.counts.reduce((a, b) => a + b, 0) || 1;
    const nt = now.counts.reduce((a, b) => a + b, 0) || 1;
    const shares = baseline.counts.map((c, i) => [c / bt, now.counts[i] / nt] as const);
    const max = Math.max(1e-9, ...shares.flat());
    const colW = 34,
        h = 140,
        top = 8;
    const out = [`<svg class="chart" width="${shares.length * colW + 10}" height="${h + 40}" role="img" aria-label="histogram">`];
    shares.forEach(([b, n], i) => {
        const x = i * colW + 5;
        out.push(`<rect class="base" x="${x}" y="${top + h - (b / max) * h}" width="14" height="${(b / max) * h}"></rect>`);
        out.push(`<rect class="now" x="${x + 15}" y="${top + h - (n / max) * h}" width="14" height="${(n / max) * h}"></rect>`);
        out.push(`<text x="${x}" y="${top + h + 14}" class="small">${esc(short(baseline.edges[i]))}</text>`);
    });
    out.push("</svg>");
    return out.join("");
}

const short = (x: number) => (Math.abs(x) >= 1024 && x % 1024 === 0 ? `${x / 1024}k` : String(Math.round(x * 100) / 100));

export function esc(text: string): string {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#222}
h1{margin-bottom:0}.meta{color:#666;margin-top:.2em}
.verdict{font-size:1.4em;padding:.6em 1em;border-radius:6px;margin:1em 0}
.verdict.ok{background:#e3f5e1;color:#1d5e1a}.verdict.bad{background:#fde2e1;color:#8a1c14}.verdict.quiet{background:#eee;color:#444}
table.counts td{padding:.4em 1.2em .4em 0;vertical-align:top}
ul.violations li{margin:.5em 0}.check{color:#666;font-size:.85em}
table.props td,table.props th{padding:.2em .8em;text-align:right}table.props td:first-child{text-align:left}
tr.drift{background:#fde2e1}
svg.chart text{font-size:11px}svg.chart .small{font-size:10px;fill:#555}
rect.base,.sw.base{fill:#9bb7d4;background:#9bb7d4}rect.now,.sw.now{fill:#d9822b;background:#d9822b}
.sw{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
ul.samples{font-family:monospace;font-size:.85em}
.note,.small{color:#555;font-size:.85em}
table.strips td{vertical-align:top;padding:.3em .6em .3em 0;border-top:1px solid #eee}
.strip{display:flex;flex-wrap:wrap;gap:4px}td.strip{display:table-cell}td.strip figure{display:inline-block}
figure{margin:0 4px 4px 0;text-align:center}figure img{width:48px;height:48px;object-fit:contain;background:#f4f4f4;border:1px solid #ddd}
figcaption{font-size:10px;color:#444;max-width:64px;overflow:hidden;white-space:nowrap}
td.training figure img{border-color:#9bb7d4}`;
