import type { ModelTask, PageConfig, PredictionResponse, PublicModel } from "../../infra/prediction-api";
import { ApiError, base64Of, PredictionApi } from "./api";
import { beginSignIn, completeSignIn, currentSignIn, forgetSignIn, signOut } from "./auth";
import { byteSize, NotAnImageError, resizeForModel, ResizedImage, SourceTooLargeError } from "./resize";
import "./styles.css";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let config: PageConfig;
let api: PredictionApi;
let models: PublicModel[] = [];
let last: { model: PublicModel; image: ResizedImage; prediction: PredictionResponse } | undefined;

function show(id: string, visible: boolean) {
    $(id).hidden = !visible;
}

function setStatus(text: string) {
    $("status").textContent = text;
}

function showError(code: string, message: string, retryable = false) {
    $("error-title").textContent = code === "unauthorized" ? "Signed out" : "Could not classify the image";
    $("error-message").textContent = retryable && !/try again/i.test(message) ? `${message} You can try again in a moment.` : message;
    $("error-code").textContent = code;
    show("error", true);
    setStatus("");
}

function errorOf(e: unknown): { code: string; message: string; retryable: boolean } {
    if (e instanceof ApiError) return { code: e.code, message: e.message, retryable: e.retryable };
    if (e instanceof NotAnImageError) return { code: "not_an_image", message: e.message, retryable: false };
    if (e instanceof SourceTooLargeError) return { code: "image_too_large", message: e.message, retryable: false };
    return { code: "page_error", message: `Something went wrong in this page: ${(e as Error).message}`, retryable: false };
}

function selectedModel(): PublicModel | undefined {
    return models.find((m) => m.name === $<HTMLSelectElement>("model").value);
}

function describeModel(model: PublicModel | undefined) {
    const info = $("model-info");
    if (!model) {
        info.textContent = "";
        return;
    }
    const [channels, height, width] = model.imageShape;
    const parts = [
        model.description,
        `${model.classes.length} classes`,
        `input ${width}×${height} ${channels === 1 ? "greyscale" : "colour"}`,
        `version ${model.package.version}`,
    ];
    info.textContent = parts.filter(Boolean).join(" · ");
}

async function loadModels() {
    show("classifier", true);
    setStatus("Loading the stack's models…");
    try {
        const answer = await api.models();
        models = [...answer.models];
    } catch (e) {
        return handleError(e);
    }
    const select = $<HTMLSelectElement>("model");
    select.replaceChildren(...models.map((m) => new Option(m.name, m.name)));
    const none = models.length === 0;
    select.disabled = none;
    for (const id of ["file", "camera"]) $<HTMLInputElement>(id).disabled = none;
    describeModel(selectedModel());
    setStatus(none ? "No model is served in this stack yet: train and register one, then deploy again." : "");
}

function handleError(e: unknown) {
    const { code, message, retryable } = errorOf(e);
    if (code === "unauthorized" && config.auth) {
        forgetSignIn();
        show("sign-in", true);
        show("classifier", false);
        show("result", false);
    }
    showError(code, message, retryable);
}

/** How each task's answer is shown; a detection model would draw boxes here instead. */
const renderers: Record<ModelTask, (p: PredictionResponse) => void> = {
    "image-classification": renderRanking,
};

function renderRanking(prediction: PredictionResponse) {
    const list = $("predictions");
    list.replaceChildren(
        ...prediction.predictions.map((p, i) => {
            const item = document.createElement("li");
            const percent = `${(p.confidence * 100).toFixed(1)}%`;
            const label = document.createElement("span");
            label.className = "label";
            label.textContent = p.label;
            const bar = document.createElement("span");
            bar.className = "bar";
            bar.setAttribute("aria-hidden", "true");
            const fill = document.createElement("span");
            fill.style.width = `${Math.max(0.5, p.confidence * 100)}%`;
            bar.append(fill);
            const value = document.createElement("span");
            value.className = "percent";
            value.textContent = percent;
            item.append(label, bar, value);
            if (i === 0) item.className = "top";
            return item;
        }),
    );
    const review = $("review");
    review.hidden = !prediction.review.wouldReview;
    review.textContent = `Low confidence: below this model's threshold of ${(prediction.review.confidenceThreshold * 100).toFixed(0)}%, so the inference workflow would ask a person.`;
}

async function classify(file: File | undefined) {
    const model = selectedModel();
    if (!file || !model) return;
    show("error", false);
    // The answer on screen is about another image (or model) from here on.
    show("result", false);
    last = undefined;
    $("correction-status").textContent = "";
    try {
        setStatus(`Resizing ${file.name || "the image"} to ${model.imageShape[2]}×${model.imageShape[1]}…`);
        const image = await resizeForModel(file, model.imageShape);
        setStatus(`Asking ${model.name}…`);
        const prediction = await api.predict(model.name, image.blob);
        last = { model, image, prediction };
        const preview = $<HTMLImageElement>("preview");
        if (preview.src) URL.revokeObjectURL(preview.src);
        preview.src = URL.createObjectURL(image.blob);
        preview.alt = `The image sent to the model: ${file.name || "your picture"}, resized to ${image.width}×${image.height}`;
        $("preview-caption").textContent =
            `${image.sourceWidth}×${image.sourceHeight} → ${image.width}×${image.height}, ${byteSize(image.blob.size)}`;
        renderers[prediction.task](prediction);
        $("served").textContent = `${prediction.package.group} version ${prediction.package.version} · inference ${prediction.inferenceId}`;
        const right = $<HTMLSelectElement>("right-class");
        const placeholder = new Option("Choose the right class", "");
        placeholder.disabled = true;
        right.replaceChildren(placeholder, ...model.classes.map((c) => new Option(c, c)));
        right.value = "";
        show("result", true);
        setStatus(`${model.name} answered: ${prediction.predictions[0]?.label ?? "nothing"}.`);
        $("result").focus();
    } catch (e) {
        handleError(e);
    }
}

async function sendCorrection(event: Event) {
    event.preventDefault();
    const status = $("correction-status");
    const label = $<HTMLSelectElement>("right-class").value;
    if (!last) return;
    if (!label) {
        status.textContent = "Choose the class the image really shows first.";
        return;
    }
    const button = $<HTMLButtonElement>("send-correction");
    button.disabled = true;
    status.textContent = "Sending…";
    try {
        await api.correct(last.model.name, {
            inferenceId: last.prediction.inferenceId,
            label,
            predictedLabel: last.prediction.predictions[0]?.label,
            predictions: last.prediction.predictions.map((p) => ({ label: p.label, confidence: p.confidence })),
            image: await base64Of(last.image.blob),
        });
        status.textContent = `Sent to the review queue as “${label}”. A reviewer confirms it before it joins the training data.`;
    } catch (e) {
        const { code, message } = errorOf(e);
        status.textContent = `Not sent (${code}): ${message}`;
        if (code === "unauthorized") handleError(e);
    } finally {
        button.disabled = false;
    }
}

function wireDropZone() {
    const drop = $("drop");
    drop.addEventListener("dragover", (e) => {
        e.preventDefault();
        drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
        e.preventDefault();
        drop.classList.remove("over");
        void classify(e.dataTransfer?.files[0]);
    });
    for (const id of ["file", "camera"]) {
        const input = $<HTMLInputElement>(id);
        input.addEventListener("change", () => {
            void classify(input.files?.[0]).finally(() => (input.value = ""));
        });
    }
}

async function start() {
    try {
        const response = await fetch("/config.json", { cache: "no-store" });
        config = (await response.json()) as PageConfig;
    } catch {
        return showError("page_error", "The page's settings (config.json) could not be loaded. Reload the page.");
    }
    if (config.banner) {
        $("banner").textContent = config.banner;
        show("banner", true);
    }
    document.title = `${document.title} (${config.environment})`;
    $("model").addEventListener("change", () => describeModel(selectedModel()));
    $("correction").addEventListener("submit", (e) => void sendCorrection(e));
    wireDropZone();

    if (!config.auth) {
        api = new PredictionApi();
        return loadModels();
    }
    const auth = config.auth;
    $("sign-in-button").addEventListener("click", () => void beginSignIn(auth));
    $("sign-out").addEventListener("click", () => signOut(auth));
    try {
        await completeSignIn(auth);
    } catch (e) {
        show("sign-in", true);
        return showError("sign_in_failed", (e as Error).message);
    }
    const signedIn = currentSignIn();
    if (!signedIn) {
        show("sign-in", true);
        return;
    }
    $("who").textContent = signedIn.name ? `Signed in as ${signedIn.name}` : "Signed in";
    show("sign-out", true);
    api = new PredictionApi(signedIn.accessToken);
    await loadModels();
}

void start();
