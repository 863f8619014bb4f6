/**
 * Realistic JSON Schemas (OpenAI structured-output examples, pydantic output, hand-written API
 * shapes) for json-schema-to-gbnf.test.ts. Strings and arrays carry maxLength / maxItems where
 * natural, so that a random test model finishes its output within the token cap.
 */
const s = (maxLength = 12): object => ({ type: "string", maxLength });
const nullable = (schema: object): object => ({ anyOf: [schema, { type: "null" }], default: null });

export const JSON_SCHEMA_CORPUS: Record<string, unknown> = {
  mathReasoning: {
    type: "object",
    properties: {
      steps: { type: "array", maxItems: 3, items: { type: "object", properties: { explanation: s(), output: s() }, required: ["explanation", "output"], additionalProperties: false } },
      final_answer: s(),
    },
    required: ["steps", "final_answer"],
    additionalProperties: false,
  },
  uiComponent: {
    type: "object",
    properties: {
      type: { type: "string", enum: ["div", "button", "header", "section", "field", "form"] },
      label: s(8),
      children: { type: "array", maxItems: 2, items: { $ref: "#" } },
      attributes: { type: "array", maxItems: 2, items: { type: "object", properties: { name: s(6), value: s(6) }, required: ["name", "value"], additionalProperties: false } },
    },
    required: ["type", "label", "children", "attributes"],
    additionalProperties: false,
  },
  eventExtraction: {
    type: "object",
    properties: { name: s(), date: { type: "string", format: "date" }, participants: { type: "array", items: s(8), maxItems: 3 } },
    required: ["name", "date", "participants"],
    additionalProperties: false,
  },
  researchPaper: {
    type: "object",
    properties: {
      title: s(),
      authors: { type: "array", items: s(8), minItems: 1, maxItems: 3 },
      abstract: s(20),
      keywords: { type: "array", items: s(6), maxItems: 4 },
      year: { type: "integer", minimum: 1900, maximum: 2030 },
    },
    required: ["title", "authors", "abstract", "keywords"],
    additionalProperties: false,
  },
  moderation: {
    type: "object",
    properties: {
      is_violating: { type: "boolean" },
      category: { type: ["string", "null"], enum: ["violence", "sexual", "self_harm", null] },
      explanation_if_violating: { type: ["string", "null"], maxLength: 10 },
    },
    required: ["is_violating", "category", "explanation_if_violating"],
    additionalProperties: false,
  },
  pydanticUser: {
    $defs: { Role: { enum: ["admin", "user", "guest"], title: "Role", type: "string" } },
    properties: {
      id: { title: "Id", type: "integer" },
      name: { title: "Name", type: "string", maxLength: 10 },
      email: nullable({ type: "string", format: "email" }),
      role: { $ref: "#/$defs/Role" },
      tags: { items: { type: "string", maxLength: 5 }, title: "Tags", type: "array", maxItems: 3 },
    },
    required: ["id", "name", "role"],
    title: "User",
    type: "object",
  },
  pydanticOrder: {
    $defs: {
      Item: {
        properties: { sku: { type: "string", pattern: "^[A-Z]{3}-[0-9]{4}$" }, qty: { type: "integer", exclusiveMinimum: 0, maximum: 99 }, price: { type: "number", minimum: 0, maximum: 1000 } },
        required: ["sku", "qty", "price"],
        title: "Item",
        type: "object",
      },
      Address: { properties: { street: s(), city: s(), zip: nullable({ type: "string", pattern: "^\\d{5}$" }) }, required: ["street", "city"], title: "Address", type: "object" },
    },
    properties: { items: { items: { $ref: "#/$defs/Item" }, type: "array", maxItems: 3 }, shipping: { $ref: "#/$defs/Address" }, billing: nullable({ $ref: "#/$defs/Address" }) },
    required: ["items", "shipping"],
    type: "object",
  },
  pydanticDiscriminated: {
    $defs: {
      Cat: { properties: { kind: { const: "cat", type: "string" }, lives: { type: "integer", minimum: 0, maximum: 9 } }, required: ["kind", "lives"], type: "object" },
      Dog: { properties: { kind: { const: "dog", type: "string" }, good: { type: "boolean" } }, required: ["kind", "good"], type: "object" },
    },
    properties: { pet: { oneOf: [{ $ref: "#/$defs/Cat" }, { $ref: "#/$defs/Dog" }], discriminator: { propertyName: "kind" } } },
    required: ["pet"],
    type: "object",
  },
  linkedList: {
    $defs: {
      Node: {
        type: "object",
        properties: { value: { type: "integer", minimum: -9, maximum: 9 }, next: { anyOf: [{ $ref: "#/$defs/Node" }, { type: "null" }] } },
        required: ["value", "next"],
        additionalProperties: false,
      },
    },
    $ref: "#/$defs/Node",
  },
  binaryTree: {
    definitions: { tree: { type: "object", properties: { v: { type: "integer" }, left: { $ref: "#/definitions/tree" }, right: { $ref: "#/definitions/tree" } }, required: ["v"] } },
    $ref: "#/definitions/tree",
  },
  nestedArrays: { type: "array", maxItems: 3, items: { type: "array", maxItems: 3, items: { type: "array", maxItems: 2, items: { type: "integer" } } } },
  matrix: { type: "array", minItems: 2, maxItems: 2, items: { type: "array", minItems: 2, maxItems: 2, items: { type: "number" } } },
  tuple: { type: "array", prefixItems: [{ type: "string", maxLength: 4 }, { type: "integer" }, { type: "boolean" }], items: false, minItems: 2 },
  tupleOpenTail: { type: "array", prefixItems: [{ const: "head" }], items: { type: "null" }, maxItems: 4 },
  ranges: {
    type: "object",
    properties: {
      small: { type: "integer", minimum: -50, maximum: 50 },
      big: { type: "integer", minimum: 3, maximum: 1234 },
      exc: { type: "integer", exclusiveMinimum: 10, exclusiveMaximum: 20 },
      lat: { type: "number", minimum: -90, maximum: 90 },
      prob: { type: "number", minimum: 0, maximum: 1 },
      frac: { type: "number", exclusiveMinimum: 0.25, maximum: 0.75 },
      neg: { type: "number", maximum: -0.5 },
      pos: { type: "integer", minimum: 1000000 },
    },
    required: ["small", "big", "exc", "lat", "prob", "frac", "neg", "pos"],
  },
  temperatureReading: {
    type: "object",
    properties: { celsius: { type: "number", minimum: -273.15, maximum: 1000 }, sensor: { type: "string", pattern: "^s[0-9]{2}$" } },
    required: ["celsius", "sensor"],
  },
  patterns: {
    type: "object",
    properties: {
      phone: { type: "string", pattern: "^\\+?[0-9]{7,12}$" },
      code: { type: "string", pattern: "^[a-z]+(-[a-z]+)?$" },
      hex: { type: "string", pattern: "#[0-9a-fA-F]{6}" },
      quoted: { type: "string", pattern: "^.{0,6}$" },
    },
    required: ["phone", "code", "hex", "quoted"],
  },
  formats: {
    type: "object",
    properties: {
      d: { type: "string", format: "date" },
      t: { type: "string", format: "time" },
      dt: { type: "string", format: "date-time" },
      id: { type: "string", format: "uuid" },
      mail: { type: "string", format: "email" },
      ip: { type: "string", format: "ipv4" },
      host: { type: "string", format: "hostname" },
      url: { type: "string", format: "uri" },
    },
    required: ["d", "t", "dt", "id", "mail", "ip", "host", "url"],
  },
  anything: {},
  trueSchema: true,
  arrayOfTypes: { type: "array", maxItems: 4, items: { type: ["string", "integer", "boolean", "null"], maxLength: 4 } },
  nullableOpenApi: {
    type: "object",
    properties: { nick: { type: "string", nullable: true, maxLength: 6 }, age: { type: "integer", nullable: true, minimum: 0, maximum: 150 } },
    required: ["nick", "age"],
  },
  allOfMerge: {
    allOf: [
      { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: 999 } }, required: ["id"] },
      { properties: { label: s(6), id: { maximum: 500 } }, required: ["label"] },
    ],
  },
  allOfRefs: {
    $defs: { Base: { type: "object", properties: { created: { type: "string", format: "date-time" } }, required: ["created"] } },
    allOf: [{ $ref: "#/$defs/Base" }, { type: "object", properties: { note: s(8) }, required: ["note"] }],
  },
  optionalOnly: { type: "object", properties: { a: { type: "integer" }, b: { type: "boolean" }, c: { type: "null" }, d: s(3) } },
  optionalAndRequired: { type: "object", properties: { a: { type: "integer" }, b: { type: "boolean" }, c: { type: "null" }, d: s(3) }, required: ["c"] },
  additionalSchema: { type: "object", properties: { fixed: { type: "boolean" } }, required: ["fixed"], additionalProperties: { type: "integer", minimum: 0, maximum: 9 } },
  openObject: { type: "object", additionalProperties: { type: "boolean" } },
  stringMap: { type: "object", additionalProperties: { type: "string", maxLength: 3 } },
  enumMixed: { enum: ["red", 42, 3.5, true, null, { a: [1, 2] }, ["x"]] },
  constObject: { type: "object", properties: { version: { const: { major: 1, tags: ['a"b', "c\\d"] } } }, required: ["version"] },
  escapedKeys: { type: "object", properties: { 'we"ird': { type: "boolean" }, "back\\slash": { type: "null" }, üñí: { const: "ç" } }, required: ['we"ird', "back\\slash", "üñí"] },
  minMaxLength: { type: "array", maxItems: 3, items: { type: "string", minLength: 2, maxLength: 4 } },
  exactLength: { type: "string", minLength: 5, maxLength: 5 },
  minItemsArray: { type: "array", items: { type: "boolean" }, minItems: 3, maxItems: 5 },
  emptyObjectAllowed: { type: "object", properties: {}, additionalProperties: false },
  calendarEvent: {
    type: "object",
    properties: {
      title: s(10),
      start: { type: "string", format: "date-time" },
      end: { type: "string", format: "date-time" },
      attendees: {
        type: "array",
        maxItems: 2,
        items: { type: "object", properties: { email: { type: "string", format: "email" }, optional: { type: "boolean" } }, required: ["email"], additionalProperties: false },
      },
      recurrence: { type: ["string", "null"], enum: ["daily", "weekly", "monthly", null] },
    },
    required: ["title", "start", "end", "attendees", "recurrence"],
    additionalProperties: false,
  },
  functionCall: {
    type: "object",
    properties: {
      name: { type: "string", enum: ["get_weather", "get_time", "search"] },
      arguments: {
        type: "object",
        properties: { location: s(10), unit: { type: "string", enum: ["celsius", "fahrenheit"] }, limit: { type: "integer", minimum: 1, maximum: 10 } },
        required: ["location"],
        additionalProperties: false,
      },
    },
    required: ["name", "arguments"],
    additionalProperties: false,
  },
  sentiment: {
    type: "object",
    properties: { label: { enum: ["positive", "negative", "neutral"] }, score: { type: "number", minimum: -1, maximum: 1 }, confidence: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 } },
    required: ["label", "score", "confidence"],
    additionalProperties: false,
  },
  productListing: {
    $defs: {
      Money: {
        type: "object",
        properties: { amount: { type: "number", minimum: 0, maximum: 100000 }, currency: { type: "string", pattern: "^[A-Z]{3}$" } },
        required: ["amount", "currency"],
        additionalProperties: false,
      },
    },
    type: "object",
    properties: {
      sku: { type: "string", format: "uuid" },
      price: { $ref: "#/$defs/Money" },
      discount: { anyOf: [{ $ref: "#/$defs/Money" }, { type: "null" }] },
      stock: { type: "integer", minimum: 0 },
    },
    required: ["sku", "price", "discount", "stock"],
  },
  fileTree: {
    $defs: {
      Entry: {
        anyOf: [
          { type: "object", properties: { file: s(6), size: { type: "integer", minimum: 0, maximum: 9999 } }, required: ["file", "size"], additionalProperties: false },
          { type: "object", properties: { dir: s(6), entries: { type: "array", maxItems: 2, items: { $ref: "#/$defs/Entry" } } }, required: ["dir", "entries"], additionalProperties: false },
        ],
      },
    },
    $ref: "#/$defs/Entry",
  },
  untypedKeywords: { properties: { n: { minimum: 5, maximum: 7 }, s: { maxLength: 2 }, a: { maxItems: 1 } }, required: ["n", "s", "a"] },
  network: {
    type: "object",
    properties: { hosts: { type: "array", maxItems: 2, items: { type: "string", format: "ipv4" } }, gateway: { type: "string", format: "hostname" } },
    required: ["hosts", "gateway"],
  },
  legacyTuple: {
    type: "array",
    items: [
      { type: "integer", minimum: 0, maximum: 3 },
      { type: "string", maxLength: 2 },
    ],
    additionalItems: false,
  },
  deepNullable: { type: ["object", "null"], properties: { inner: { type: ["array", "null"], maxItems: 2, items: { type: ["number", "null"], minimum: 0, maximum: 5 } } }, required: ["inner"] },
};
