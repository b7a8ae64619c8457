/** Images decoded per window at most, by default: enough for the property tests to keep their power (see the note in the report). */
export const DEFAULT_IMAGE_SAMPLE = 2000;
