/**
 * The errors a template raises, named as Jinja2 names them: a syntax error when it is parsed; at
 * render time an UndefinedError (using an undefined value in a way Jinja2 refuses), a
 * TemplateTypeError (an operation Python refuses, e.g. `'a' + 1`), a SecurityError (what Hugging
 * Face's immutable sandbox refuses, e.g. `list.append`), or a TemplateError from the template's own
 * `raise_exception(message)`, whose message is exactly that message.
 */
export class TemplateError extends Error {
  override name = "TemplateError";
}

export class TemplateSyntaxError extends TemplateError {
  override name = "TemplateSyntaxError";
  constructor(message: string, line: number) {
    super(line > 0 ? `${message} (line ${line})` : message);
  }
}

export class UndefinedError extends TemplateError {
  override name = "UndefinedError";
}

export class TemplateTypeError extends TemplateError {
  override name = "TypeError";
}

export class SecurityError extends TemplateError {
  override name = "SecurityError";
}
