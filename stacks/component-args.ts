import type { ModelMonitorArgs } from "../components/model-monitor";
import { EndpointConfig, ModelConfig } from "../infra/config";
import { EndpointFleet } from "../infra/endpoint-serving";
import { TrainingModelSettings } from "../infra/pipeline/training-model";

/**
 * The stack config onto components' own arg types: components never see the config schema, so each
 * mapping lives here, next to the program that reads the config.
 */

/** What the training pipeline trains, judges and registers, from one model's stack config. */
export function trainingModelSettings(model: ModelConfig): TrainingModelSettings {
    return {
        ...(model.description !== undefined ? { description: model.description } : {}),
        classes: model.classes,
        imageShape: model.imageShape,
        training: model.training,
        quality: { minAccuracy: model.quality.minAccuracy, maxRegression: model.quality.maxRegression },
        endpoint: { instanceType: model.endpoint.instanceType },
        inference: { confidenceThreshold: model.inference.confidenceThreshold },
        monitoring: { drift: model.monitoring.drift },
    };
}

/** The endpoint's fleet and latency alarm, from one model's endpoint config. */
export function endpointFleet(endpoint: EndpointConfig): EndpointFleet {
    return {
        instanceType: endpoint.instanceType,
        instanceCount: endpoint.instanceCount,
        ...(endpoint.autoscaling ? { autoscaling: { ...endpoint.autoscaling } } : {}),
        latencyP99Ms: endpoint.latencyP99Ms,
    };
}

/** What the monitor judges by and how often, from one model's config (retraining is the stack's to wire). */
export function monitorSettings(
    model: ModelConfig,
): Pick<ModelMonitorArgs, "schedule" | "thresholds" | "imageSampleSize" | "instanceCount" | "unjudgedPeriods"> {
    return {
        schedule: model.monitoring.schedule,
        thresholds: { ...model.monitoring.drift, confidenceThreshold: model.inference.confidenceThreshold },
        imageSampleSize: model.monitoring.imageSampleSize,
        instanceCount: model.monitoring.instanceCount,
        unjudgedPeriods: model.monitoring.unjudgedPeriods,
    };
}
