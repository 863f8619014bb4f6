/** ajv validators for test schemas: draft 2020-12, or draft-07 for `items: [...]` + `additionalItems`. */
import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS: its default export arrives as the module object or the function.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: object) => void;

export function validatorFor(schema: unknown): (value: unknown) => boolean {
  const legacy = JSON.stringify(schema).includes('"additionalItems"');
  const ajv = legacy ? new Ajv({ strict: false }) : new Ajv2020({ strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema as object);
  return (value) => validate(value) as boolean;
}
