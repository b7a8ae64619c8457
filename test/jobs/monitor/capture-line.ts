/**
 * A capture line of one prediction (JSON class probabilities) at 12:<minute> on 2026-01-10, with the image as a
 * base64 PNG input payload when one is given, else no input.
 */
export const prediction = (eventId: string, minute: number, probabilities: number[], png?: Buffer) =>
    JSON.stringify({
        captureData: {
            ...(png
                ? { endpointInput: { observedContentType: "image/png", mode: "INPUT", data: png.toString("base64"), encoding: "BASE64" } }
                : {}),
            endpointOutput: {
                observedContentType: "application/json",
                mode: "OUTPUT",
                data: JSON.stringify(probabilities),
                encoding: "JSON",
            },
        },
        eventMetadata: { eventId, inferenceTime: `2026-01-10T12:${String(minute).padStart(2, "0")}:00.000Z` },
        eventVersion: "0",
    });
