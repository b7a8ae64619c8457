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
