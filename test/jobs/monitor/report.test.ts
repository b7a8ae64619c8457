import { expect } from "chai";
import { MonitorResult } from "../../../jobs/monitor/analysis";
import { esc, reportHtml, sampleNote } from "../../../jobs/monitor/report";
import { HAND_QUALITY, handResult } from "./hand-result";

/** report.html from a result written out by hand (./hand-result): what the page says, in its own words. */
describe("monitor report page", () => {
    const violation = (feature_name: string) => ({ feature_name, constraint_check_type: "baseline_drift_check", description: "moved" });
    const verdictOf = (over: Partial<MonitorResult>) => /<div class="verdict [^"]+">[^<]*<\/div>/.exec(reportHtml(handResult(over)))![0];

    it("escapes everything a caller or the data could put into the page", () => {
        expect(esc(`<a href="x">Tom & 'Jerry'</a>`)).to.equal("&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
        const page = reportHtml(handResult({ endpoint: "ep<script>", decodeErrorSamples: ["t.jpg: <b>bad</b>"] }));
        expect(page).to.not.contain("<script>");
        expect(page).to.contain("<title>Monitoring ep&lt;script&gt; 2026-01-10T12:00:00.000Z</title>");
        expect(page).to.contain(
            '<h2>Undecodable records (first ones)</h2><ul class="samples">\n<li>t.jpg: &lt;b&gt;bad&lt;/b&gt;</li>\n</ul>',
        );
    });

    it("forbids every request from the page", () => {
        expect(reportHtml(handResult())).to.contain(
            `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
        );
    });

    it("says the verdict at the top, counting violations and defects in the singular and plural", () => {
        expect(verdictOf({})).to.equal('<div class="verdict bad">1 violation</div>');
        expect(verdictOf({ violations: [violation("a"), violation("b")] })).to.equal('<div class="verdict bad">2 violations</div>');
        expect(verdictOf({ verdict: "clean", violations: [] })).to.equal('<div class="verdict ok">No drift or defects found</div>');
        const notJudged = { verdict: "not-judged" as const, notJudgedReason: "only 3 records" };
        expect(verdictOf({ ...notJudged, violations: [] })).to.equal('<div class="verdict quiet">Not judged: only 3 records</div>');
        expect(verdictOf(notJudged)).to.equal('<div class="verdict quiet">Not judged: only 3 records (1 defect found)</div>');
        expect(verdictOf({ ...notJudged, violations: [violation("a"), violation("b")] })).to.equal(
            '<div class="verdict quiet">Not judged: only 3 records (2 defects found)</div>',
        );
    });

    it("heads the page with the endpoint, the schedule and the window, then the counts and the violations", () => {
        const page = reportHtml(handResult());
        expect(page).to.contain(
            '<h1>vision-mlops-staging-signs</h1>\n<p class="meta">Schedule signs-hourly · window 2026-01-10T12:00:00.000Z to 2026-01-10T13:00:00.000Z</p>',
        );
        expect(page).to.contain(
            '<table class="counts"><tr>\n<td><b>4</b><br>records</td>\n<td><b>3</b><br>images measured</td>\n<td><b>4</b><br>predictions read</td>\n' +
                "<td><b>1 (25.0%)</b><br>undecodable</td>\n<td><b>25.0%</b><br>low confidence</td>\n</tr></table>",
        );
        expect(page).to.contain(
            '<h2>Violations</h2><ul class="violations">\n<li><b>predicted_class</b> <span class="check">distribution_drift_check</span><br>moved</li>\n</ul>',
        );
        expect(reportHtml(handResult({ violations: [] }))).to.not.contain("<h2>Violations</h2>");
        const empty = handResult({ counts: { ...handResult().counts, records: 0, decodeErrors: 0, images: 0, predictions: 0 } });
        const quiet = reportHtml(empty);
        expect(quiet).to.contain("<td><b>0 (0.0%)</b><br>undecodable</td>");
        expect(quiet).to.not.contain("<h2>Predicted classes</h2>");
        expect(quiet).to.not.contain("<h2>Image properties</h2>");
    });

    it("shows accuracy against the baseline when labels were read", () => {
        expect(reportHtml(handResult({ quality: HAND_QUALITY }))).to.contain(
            "<td><b>0.750 (baseline 0.900, 4 labels)</b><br>accuracy</td>",
        );
    });

    it("gives the class and confidence figures, and each property's row with the most drifted first", () => {
        const page = reportHtml(handResult());
        expect(page).to.contain("<h2>Predicted classes</h2><p>PSI 0.300 · chi-square p-value 0.0010</p>");
        expect(page).to.contain("<h2>Confidence</h2><p>PSI 0.020 · mean 0.700 · threshold 0.6</p>");
        const rows = [...page.matchAll(/<tr class="(drift)?"><td>(\w+)<\/td>/g)].map((m) => m[2]);
        // PSI 0.01 x the property's place: meanBlue (0.08) first, width (0) last.
        expect(rows).to.deep.equal(["meanBlue", "meanGreen", "meanRed", "contrast", "brightness", "bytes", "aspect", "height", "width"]);
        expect(page).to.contain(
            '<tr class="drift"><td>brightness</td><td>14</td><td>13</td><td>0.040</td><td>0.5000</td><td>drifted</td></tr>',
        );
        expect(page).to.contain('<tr class=""><td>width</td><td>10</td><td>9</td><td>0</td><td>0.5000</td><td></td></tr>');
        expect(page).to.contain("<h3>brightness</h3>");
        expect(page).to.not.contain("<h3>width</h3>");
        expect(page).to.contain("<p>Image types: image/jpeg 2, image/png 1; request content types: image/jpeg 4</p>");
        const none = handResult({ contentTypes: { observed: {}, images: {}, baseline: {}, unseen: [] } });
        expect(reportHtml(none)).to.contain("<p>Image types: none; request content types: none</p>");
    });

    it("says what the image sample means for the property tests", () => {
        expect(sampleNote(handResult())).to.equal("Every one of the 4 images was measured (the sample holds up to 1000).");
        expect(sampleNote(handResult({ counts: { ...handResult().counts, sampled: 300, inputs: 5000 } }))).to.equal(
            "Measured on a uniform sample of 300 of 5000 images (the smallest hashes of their event ids; at most 1000 per window): " +
                "the property tests have the power of a 300-record window, which sees a shift of 20% of a property's distribution " +
                "at least 90% of the time against a baseline of 300 images or more. Predictions and confidence are read from every record.",
        );
    });
});

/** The page's frame, charts and pictures: every coordinate below is worked out by hand from the chart's constants. */
describe("monitor report page: frame, charts and pictures", () => {
    const counts = handResult().counts;

    it("is one whole document: doctype, inline style, legend and end", () => {
        const page = reportHtml(handResult({ decodeErrorSamples: [] }));
        expect(
            page.startsWith('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Monitoring vision-mlops-staging-signs '),
        ).to.equal(true);
        expect(page).to.contain("\n<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#222}\n");
        expect(page).to.contain("td.training figure img{border-color:#9bb7d4}</style></head><body>\n<h1>");
        expect(page).to.contain(
            '\n<p class="legend"><span class="sw base"></span> training baseline <span class="sw now"></span> this window</p>\n</body></html>\n',
        );
        expect(page.endsWith("</body></html>\n")).to.equal(true);
        expect(page).to.not.contain("Undecodable records");
        expect(page).to.contain(
            '<h2>Image properties</h2><p class="note">Every one of the 4 images was measured (the sample holds up to 1000).</p>\n' +
                '<table class="props"><tr><th>property</th><th>mean now</th><th>mean in training</th><th>PSI</th><th>p-value</th><th></th></tr>\n' +
                '<tr class=""><td>meanBlue</td>',
        );
        expect(page).to.contain(
            "<td>width</td><td>10</td><td>9</td><td>0</td><td>0.5000</td><td></td></tr>\n</table>\n<h3>brightness</h3>",
        );
    });

    it("draws the class bars largest share first, scaled to the largest share", () => {
        // Baseline 25/25/50%, now 2/0/2 of 4 predictions: the largest share is 0.5, drawn 420 px wide; rows 22 px apart.
        const page = reportHtml(
            handResult({ predictedClasses: { ...handResult().predictedClasses, counts: [2, 0, 2], baselineShares: [0.25, 0.25, 0.5] } }),
        );
        const row = (label: string, y: number, base: number, now: number, textX: number, shares: string) =>
            `<text x="214" y="${y + 14}" text-anchor="end">${label}</text>` +
            `<rect class="base" x="220" y="${y}" width="${base}" height="9"></rect>` +
            `<rect class="now" x="220" y="${y + 10}" width="${now}" height="9"></rect>` +
            `<text x="${textX}" y="${y + 14}" class="small">${shares}</text>`;
        expect(page).to.contain(
            '<svg class="chart" width="770" height="70" role="img" aria-label="class distribution">' +
                row("stop", 2, 210, 420, 644, "25.0% → 50.0%") +
                row("speed-30", 24, 420, 420, 644, "50.0% → 50.0%") +
                row("yield", 46, 210, 0, 434, "25.0% → 0.0%") +
                "</svg>",
        );
    });

    it("draws each histogram's two sides as shares of their own totals, an empty side as no bars, and shortens round KiB edges", () => {
        const confidence = {
            ...handResult().confidence,
            baseline: { edges: [0, 0.5, 1], counts: [1, 1] },
            histogram: { edges: [0, 0.5, 1], counts: [0, 4] },
        };
        const brightness = {
            ...handResult().properties.brightness,
            baseline: { edges: [0, 1.234, 1024, 1536, 2048], counts: [0, 0, 0, 0], count: 0, mean: 13, min: 0, max: 0 },
            summary: {
                edges: [0, 1.234, 1024, 1536, 2048],
                counts: [1, 1, 0, 2],
                count: 4,
                mean: 14,
                min: 0,
                max: 2000,
                stdDev: 1,
                sum: 56,
            },
        };
        const page = reportHtml(handResult({ confidence, properties: { ...handResult().properties, brightness } }));
        // Confidence: baseline 50/50%, now 0/100%: the largest share is 1, drawn 140 px high from y = 8.
        expect(page).to.contain(
            '<svg class="chart" width="78" height="180" role="img" aria-label="histogram">' +
                '<rect class="base" x="5" y="78" width="14" height="70"></rect><rect class="now" x="20" y="148" width="14" height="0"></rect>' +
                '<text x="5" y="162" class="small">0</text>' +
                '<rect class="base" x="39" y="78" width="14" height="70"></rect><rect class="now" x="54" y="8" width="14" height="140"></rect>' +
                '<text x="39" y="162" class="small">0.5</text></svg>',
        );
        // Brightness: no training counts at all (drawn as zero, not NaN), now 25/25/0/50%.
        expect(page).to.contain(
            '<h3>brightness</h3>\n<svg class="chart" width="146" height="180" role="img" aria-label="histogram">' +
                '<rect class="base" x="5" y="148" width="14" height="0"></rect><rect class="now" x="20" y="78" width="14" height="70"></rect>' +
                '<text x="5" y="162" class="small">0</text>' +
                '<rect class="base" x="39" y="148" width="14" height="0"></rect><rect class="now" x="54" y="78" width="14" height="70"></rect>' +
                '<text x="39" y="162" class="small">1.23</text>' +
                '<rect class="base" x="73" y="148" width="14" height="0"></rect><rect class="now" x="88" y="148" width="14" height="0"></rect>' +
                '<text x="73" y="162" class="small">1k</text>' +
                '<rect class="base" x="107" y="148" width="14" height="0"></rect><rect class="now" x="122" y="8" width="14" height="140"></rect>' +
                '<text x="107" y="162" class="small">1536</text></svg>',
        );
    });

    it("shows the captured images by class (most moved first), the lowest confidences and the most drifted properties' outliers", () => {
        const fig = (caption: string, data: string) =>
            `<figure><img alt="${caption}" src="data:image/jpeg;base64,${data}"><figcaption>${caption}</figcaption></figure>`;
        const at = { where: "f:1", eventId: "e" };
        const outlier = (thumbnail: string, value: number) => [{ ...at, thumbnail, value }];
        const page = reportHtml(
            handResult({
                // Baseline 50/25/25%, now 2/0/2 of 4: speed-30 moved 25 points, stop none.
                predictedClasses: { ...handResult().predictedClasses, counts: [2, 0, 2], baselineShares: [0.5, 0.25, 0.25] },
                shots: {
                    byClass: {
                        "speed-30": [
                            { ...at, thumbnail: "U1A=", predicted: 2, confidence: 0.5 },
                            { ...at, predicted: 2 },
                        ],
                    },
                    trainingExamples: { stop: ["U1Q=", "U1Qy"] },
                    lowestConfidence: [
                        { ...at, thumbnail: "TE8=", predicted: 1, confidence: 0.25 },
                        { ...at, thumbnail: "Pz8=" },
                    ],
                    // PSI is 0.01 x the property's place: meanBlue 0.08, contrast 0.05, brightness 0.04, width 0.
                    outliers: {
                        width: outlier("V0k=", 1),
                        brightness: outlier("QlI=", 12.345),
                        meanBlue: outlier("Qkw=", 0.26),
                        contrast: [],
                    },
                },
            }),
        );
        expect(page).to.contain(
            '</ul>\n<h2>Captured images by predicted class</h2><table class="strips">\n' +
                "<tr><th>class</th><th>training images</th><th>captured, predicted as the class (sampled)</th></tr>\n" +
                '<tr><td><b>speed-30</b><br><span class="small">25.0% → 50.0%</span></td><td class="strip training"></td>' +
                `<td class="strip">${fig("0.500", "U1A=")}</td></tr>\n` +
                '<tr><td><b>stop</b><br><span class="small">50.0% → 50.0%</span></td>' +
                `<td class="strip training">${fig("training", "U1Q=")}${fig("training", "U1Qy")}</td>` +
                '<td class="strip"><span class="small">none in the sample</span></td></tr>\n' +
                "</table>\n" +
                '<h2>Lowest-confidence requests</h2><div class="strip">\n' +
                `${fig("yield 0.250", "TE8=")}${fig("? ", "Pz8=")}\n` +
                "</div>\n" +
                '<h2>Furthest from training on meanBlue</h2><p class="small">training mean 17; captured images in the bins training saw least</p><div class="strip">\n' +
                `${fig("0.3", "Qkw=")}\n` +
                "</div>\n" +
                '<h2>Furthest from training on brightness</h2><p class="small">training mean 13; captured images in the bins training saw least</p><div class="strip">\n' +
                `${fig("12.3", "QlI=")}\n` +
                "</div>\n<h2>Predicted classes</h2>",
        );
        expect(page).to.not.contain("<h2>Furthest from training on width</h2>");
        // No pictures at all: no picture sections.
        const plain = reportHtml(handResult());
        expect(plain).to.not.contain("<h2>Captured images").and.not.contain("Lowest-confidence").and.not.contain("Furthest from training");
        expect(plain).to.contain("</ul>\n\n<h2>Predicted classes</h2>");
    });

    it("orders class rows by the most predicted when their shares moved alike, and counts no predictions as one", () => {
        const page = reportHtml(
            handResult({
                counts: { ...counts, predictions: 0 },
                predictedClasses: { ...handResult().predictedClasses, counts: [0, 0, 0], baselineShares: [0, 0, 0] },
                shots: { byClass: {}, lowestConfidence: [], outliers: {}, trainingExamples: { yield: ["WQ=="], stop: ["Uw=="] } },
            }),
        );
        expect(page).to.contain('<tr><td><b>stop</b><br><span class="small">0.0% → 0.0%</span></td>');
        expect(page.indexOf("<b>stop</b>")).to.be.lessThan(page.indexOf("<b>yield</b>"));
        const moved = reportHtml(
            handResult({
                predictedClasses: { ...handResult().predictedClasses, counts: [1, 3, 0], baselineShares: [0.5, 0.5, 0] },
                shots: { byClass: {}, lowestConfidence: [], outliers: {}, trainingExamples: { stop: ["Uw=="], yield: ["WQ=="] } },
            }),
        );
        // Both moved 25 points: yield (75% now) before stop (25% now).
        expect(moved.indexOf("<b>yield</b><br>")).to.be.lessThan(moved.indexOf("<b>stop</b><br>"));
    });
});
