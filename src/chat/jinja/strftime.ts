/**
 * `strftime_now(format)`, the global Hugging Face gives templates (Llama 3.x prints today's date
 * with it): Python's `datetime.now().strftime(format)` in local time, C locale, with glibc's `%-d`
 * style flags (no padding) that Python passes through on Linux.
 */
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

function dayOfYear(d: Date): number {
  return Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000) + 1;
}

export function strftime(format: string, date: Date = new Date()): string {
  const pad = (n: number, width = 2, flag = ""): string => (flag === "-" ? String(n) : String(n).padStart(width, flag === "_" ? " " : "0"));
  return format.replace(/%([-_0]?)([a-zA-Z%])/g, (whole, flag: string, code: string) => {
    const hours = date.getHours();
    switch (code) {
      case "a":
        return (DAYS[date.getDay()] ?? "").slice(0, 3);
      case "A":
        return DAYS[date.getDay()] ?? "";
      case "b":
      case "h":
        return (MONTHS[date.getMonth()] ?? "").slice(0, 3);
      case "B":
        return MONTHS[date.getMonth()] ?? "";
      case "d":
        return pad(date.getDate(), 2, flag);
      case "e":
        return pad(date.getDate(), 2, flag || "_");
      case "m":
        return pad(date.getMonth() + 1, 2, flag);
      case "y":
        return pad(date.getFullYear() % 100, 2, flag);
      case "Y":
        return String(date.getFullYear());
      case "H":
        return pad(hours, 2, flag);
      case "I":
        return pad(hours % 12 === 0 ? 12 : hours % 12, 2, flag);
      case "p":
        return hours < 12 ? "AM" : "PM";
      case "M":
        return pad(date.getMinutes(), 2, flag);
      case "S":
        return pad(date.getSeconds(), 2, flag);
      case "f":
        return String(date.getMilliseconds() * 1000).padStart(6, "0");
      case "j":
        return pad(dayOfYear(date), 3, flag);
      case "w":
        return String(date.getDay());
      case "u":
        return String(date.getDay() === 0 ? 7 : date.getDay());
      case "F":
        return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
      case "D":
      case "x":
        return `${pad(date.getMonth() + 1)}/${pad(date.getDate())}/${pad(date.getFullYear() % 100)}`;
      case "T":
      case "X":
        return `${pad(hours)}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
      case "%":
        return "%";
      default:
        return whole;
    }
  });
}
