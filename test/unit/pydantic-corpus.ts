/**
 * pydantic v2 `Model.model_json_schema()` outputs (validation mode, draft 2020-12), written down
 * by hand from pydantic's documented behaviour: field titles from the names, nested models under
 * `$defs` and referenced with `$ref`, `Optional[X] = None` as `anyOf: [X, null]` with
 * `default: null`, `Literal` as `const` / `enum`, `Enum` classes as `$defs` enums, `EmailStr` /
 * `UUID` / `datetime` / `date` / `time` / `HttpUrl` / `UUID4` / `timedelta` / `bytes` /
 * `SecretStr` / `IPvAnyAddress` as string `format`s, `constr` / `Field` constraints as
 * `pattern` / `minLength` / `maxLength`, `conint` as bounds or `multipleOf`, `list[...]` with
 * `min_length` / `max_length` as `minItems` / `maxItems`, `tuple` as `prefixItems`, `set` with
 * `uniqueItems`, `dict[str, int]` as `additionalProperties`, `Decimal` as a number-or-pattern.
 *
 * `refused`: the keyword (GrammarConversionError construct) a strict conversion must name; else
 * the schema must be enforced. `check`: what the value must also satisfy where ajv-formats does
 * not know the format.
 */
export interface PydanticCase {
  readonly schema: Record<string, unknown>;
  readonly refused?: string;
  readonly check?: (value: Record<string, unknown>) => boolean;
  /** The schema as ajv (ECMAScript patterns) reads it, where the pattern is Python's. */
  readonly ajvSchema?: Record<string, unknown>;
}

const str = (title: string, extra: Record<string, unknown> = {}) => ({ ...extra, title, type: "string" });
const optional = (title: string, schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }], default: null, title });
const model = (title: string, properties: Record<string, unknown>, required: string[], extra: Record<string, unknown> = {}) => ({ ...extra, properties, required, title, type: "object" });

export const PYDANTIC_CORPUS: Record<string, PydanticCase> = {
  // class User(BaseModel): id: UUID; email: EmailStr; created_at: datetime; nickname: str | None = Field(None, max_length=12)
  user: {
    schema: model(
      "User",
      {
        id: str("Id", { format: "uuid" }),
        email: str("Email", { format: "email" }),
        created_at: str("Created At", { format: "date-time" }),
        nickname: optional("Nickname", { maxLength: 12, type: "string" }),
      },
      ["id", "email", "created_at"],
    ),
  },
  // sku: constr(pattern=r"^[A-Z]{3}-\d{4,8}$", max_length=10); quantity: conint(gt=0, le=1000); price: confloat(ge=0)
  product: {
    schema: model(
      "Product",
      {
        sku: str("Sku", { maxLength: 10, pattern: "^[A-Z]{3}-\\d{4,8}$" }),
        quantity: { exclusiveMinimum: 0, maximum: 1000, title: "Quantity", type: "integer" },
        price: { minimum: 0, title: "Price", type: "number" },
      },
      ["sku", "quantity", "price"],
    ),
  },
  // kind: Literal["book"]; status: Literal["draft", "published"]; color: Color (an Enum)
  literals: {
    schema: model(
      "Item",
      {
        kind: { const: "book", title: "Kind", type: "string" },
        status: { enum: ["draft", "published"], title: "Status", type: "string" },
        color: { $ref: "#/$defs/Color" },
      },
      ["kind", "status", "color"],
      { $defs: { Color: { enum: ["red", "green", "blue"], title: "Color", type: "string" } } },
    ),
  },
  // class Order: customer: Customer; lines: list[Line] = Field(min_length=1, max_length=3); note: str | None = None
  nested: {
    schema: model(
      "Order",
      {
        customer: { $ref: "#/$defs/Customer" },
        lines: { items: { $ref: "#/$defs/Line" }, maxItems: 3, minItems: 1, title: "Lines", type: "array" },
        note: optional("Note", { type: "string", maxLength: 20 }),
      },
      ["customer", "lines"],
      {
        $defs: {
          Customer: model("Customer", { name: str("Name", { maxLength: 20, minLength: 1 }), email: str("Email", { format: "email" }), since: str("Since", { format: "date" }) }, [
            "name",
            "email",
            "since",
          ]),
          Line: model("Line", { sku: str("Sku", { pattern: "^[A-Z0-9]{6}$" }), qty: { maximum: 99, minimum: 1, title: "Qty", type: "integer" } }, ["sku", "qty"]),
        },
      },
    ),
  },
  // counts: dict[str, int]; scores: list[int] = Field(min_length=2, max_length=4)
  containers: {
    schema: model(
      "Stats",
      {
        counts: { additionalProperties: { type: "integer" }, title: "Counts", type: "object" },
        scores: { items: { type: "integer" }, maxItems: 4, minItems: 2, title: "Scores", type: "array" },
      },
      ["counts", "scores"],
    ),
  },
  // contact: Annotated[EmailStr, Field(max_length=40)]; key: UUID4; homepage: HttpUrl
  conjunctions: {
    schema: model(
      "Profile",
      {
        contact: str("Contact", { format: "email", maxLength: 40 }),
        key: str("Key", { format: "uuid4" }),
        homepage: str("Homepage", { format: "uri", maxLength: 2083, minLength: 1 }),
      },
      ["contact", "key", "homepage"],
    ),
    check: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(String(v.key)),
  },
  // day: date; at: time; when: datetime | None = None; code: constr(min_length=2, max_length=8, pattern=r"^[a-z_]+$")
  dates: {
    schema: model(
      "Slot",
      {
        day: str("Day", { format: "date" }),
        at: str("At", { format: "time" }),
        when: optional("When", { format: "date-time", type: "string" }),
        code: str("Code", { maxLength: 8, minLength: 2, pattern: "^[a-z_]+$" }),
      },
      ["day", "at", "code"],
    ),
  },
  // point: tuple[float, float]; ip: IPv4Address
  tuple: {
    schema: model(
      "Place",
      {
        point: { maxItems: 2, minItems: 2, prefixItems: [{ type: "number" }, { type: "number" }], title: "Point", type: "array" },
        ip: str("Ip", { format: "ipv4" }),
      },
      ["point", "ip"],
    ),
  },
  // extra="forbid"; parent: "Node | None" (recursive)
  recursive: {
    schema: model("Node", { name: str("Name", { maxLength: 8 }), parent: { anyOf: [{ $ref: "#" }, { type: "null" }], default: null } }, ["name"], { additionalProperties: false }),
  },

  // Refused: what no grammar here enforces. ttl: timedelta
  duration: { schema: model("Cache", { ttl: str("Ttl", { format: "duration" }) }, ["ttl"]), refused: "format" },
  // tags: set[str]
  set: { schema: model("Post", { tags: { items: { type: "string" }, title: "Tags", type: "array", uniqueItems: true } }, ["tags"]), refused: "uniqueItems" },
  // step: conint(multiple_of=5)
  multipleOf: { schema: model("Grid", { step: { multipleOf: 5, title: "Step", type: "integer" } }, ["step"]), refused: "multipleOf" },
  // amount: Decimal
  decimal: {
    schema: model("Invoice", { amount: { anyOf: [{ type: "number" }, { pattern: "^(?!^[-+.]*$)[+-]?0*\\d*\\.?\\d*$", type: "string" }], title: "Amount" } }, ["amount"]),
    refused: "lookahead",
  },
  // data: bytes
  bytes: { schema: model("Blob", { data: str("Data", { format: "binary" }) }, ["data"]), refused: "format" },
  // password: SecretStr
  secret: { schema: model("Login", { password: str("Password", { format: "password", writeOnly: true }) }, ["password"]), refused: "format" },
  // address: IPvAnyAddress
  anyAddress: { schema: model("Peer", { address: str("Address", { format: "ipvanyaddress" }) }, ["address"]), refused: "format" },
  // month: constr(pattern=r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$", max_length=7): Python's named groups read as ECMAScript's
  pythonRegex: {
    schema: model("Month", { month: str("Month", { maxLength: 7, pattern: "^(?P<year>\\d{4})-(?P<month>0[1-9]|1[0-2])$" }) }, ["month"]),
    ajvSchema: model("Month", { month: str("Month", { maxLength: 7, pattern: "^(?<year>\\d{4})-(?<month>0[1-9]|1[0-2])$" }) }, ["month"]),
  },
  // ref: constr(pattern=r"^(?P<id>\d+)-(?P=id)$"): a backreference
  backreference: { schema: model("Pair", { ref: str("Ref", { pattern: "^(?P<id>\\d+)-(?P=id)$" }) }, ["ref"]), refused: "backreference" },
};
