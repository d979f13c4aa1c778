//! Go's `fmt` for template values: `Sprint`, `Sprintln` and `Sprintf`
//! with the verbs templates use (`%v %s %d %q %f %e %g %x %X %t %c %o %b
//! %U %T %%`), flags (`- + # 0 space`), width and precision (also `*`),
//! and Go's error forms (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA ..)`).

use std::fmt::Write;

use super::value::Value;

/// Go's shortest-representation digits of a finite, non-zero |x|:
/// (digits, decimal exponent of the first digit).
fn shortest_digits(x: f64) -> (String, i32) {
    split_exp(&format!("{:e}", x.abs()))
}

/// Digits rounded to `sig` significant digits.
fn rounded_digits(x: f64, sig: usize) -> (String, i32) {
    split_exp(&format!("{:.*e}", sig.saturating_sub(1), x.abs()))
}

fn split_exp(s: &str) -> (String, i32) {
    let (m, e) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = m.chars().filter(|c| *c != '.').collect();
    (digits, e.parse().unwrap_or(0))
}

fn push_exp(out: &mut String, e: i32, upper: bool) {
    out.push(if upper { 'E' } else { 'e' });
    out.push(if e < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", e.abs());
}

/// Formats a float with a Go verb (`e E f F g G`), `prec` as Go's precision
/// (`None`: the verb's default). Returns the text without padding; the
/// sign is included only for negative numbers.
fn float_text(x: f64, verb: char, prec: Option<usize>, sharp: bool) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    let a = x.abs();
    match verb {
        'f' | 'F' => {
            let _ = write!(out, "{:.*}", prec.unwrap_or(6), a);
            if sharp && !out.contains('.') {
                out.push('.');
            }
        }
        'e' | 'E' => {
            let p = prec.unwrap_or(6);
            let (d, e) = if a == 0.0 {
                ("0".repeat(p + 1), 0)
            } else {
                rounded_digits(a, p + 1)
            };
            out.push_str(&d[..1]);
            if p > 0 || sharp {
                out.push('.');
                out.push_str(&d[1..]);
            }
            push_exp(&mut out, e, verb == 'E');
        }
        _ => {
            // 'g' / 'G'
            let shortest = prec.is_none();
            let (mut d, e) = if a == 0.0 {
                ("0".to_string(), 0)
            } else if let Some(p) = prec {
                rounded_digits(a, p.max(1))
            } else {
                shortest_digits(a)
            };
            if !sharp {
                while d.len() > 1 && d.ends_with('0') {
                    d.pop();
                }
            }
            let nd = d.len() as i32;
            let dp = e + 1;
            let mut eprec = prec.map_or(nd, |p| p.max(1) as i32);
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            if e < -4 || e >= eprec {
                out.push_str(&d[..1]);
                if nd > 1 {
                    out.push('.');
                    out.push_str(&d[1..]);
                }
                push_exp(&mut out, e, verb == 'G');
            } else if dp <= 0 {
                out.push_str("0.");
                for _ in 0..(-dp) {
                    out.push('0');
                }
                out.push_str(&d);
            } else if dp >= nd {
                out.push_str(&d);
                for _ in 0..(dp - nd) {
                    out.push('0');
                }
            } else {
                out.push_str(&d[..dp as usize]);
                out.push('.');
                out.push_str(&d[dp as usize..]);
            }
        }
    }
    out
}

/// Appends a float as `%v` prints it.
pub fn write_float_v(out: &mut String, x: f64) {
    out.push_str(&float_text(x, 'g', None, false));
}

/// Go's `strconv.Quote` (with `ascii`: `QuoteToASCII`).
pub fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        quote_char_into(&mut out, c, '"', ascii);
    }
    out.push('"');
    out
}

fn is_print(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || ('\u{E000}'..='\u{F8FF}').contains(&c))
}

fn quote_char_into(out: &mut String, c: char, q: char, ascii: bool) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == q => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) && (!ascii || c.is_ascii()) => out.push(c),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// `fmt.Sprint`: operands printed with `%v`, a space between two operands
/// when neither is a string.
pub fn sprint(args: &[Value<'_>]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_v(&mut out, a);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: operands separated by spaces, newline at the end.
pub fn sprintln(args: &[Value<'_>]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(&mut out, a);
    }
    out.push('\n');
    out
}

fn write_v(out: &mut String, v: &Value<'_>) {
    match v {
        Value::Missing => out.push_str("<nil>"),
        v => v.write_go(out),
    }
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf` over template values.
pub fn sprintf(format: &str, args: &[Value<'_>]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut argi = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // flags
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        // width
        if chars.peek().map(|p| p.1) == Some('*') {
            chars.next();
            match args.get(argi) {
                Some(Value::Int(w)) => {
                    if *w < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            spec.width = take_num(&mut chars);
        }
        // precision
        if chars.peek().map(|p| p.1) == Some('.') {
            chars.next();
            if chars.peek().map(|p| p.1) == Some('*') {
                chars.next();
                match args.get(argi) {
                    Some(Value::Int(p)) if *p >= 0 => spec.prec = Some(*p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                spec.prec = Some(take_num(&mut chars).unwrap_or(0));
            }
        }
        if spec.minus {
            spec.zero = false;
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        format_one(&mut out, verb, &spec, arg);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if matches!(a, Value::Nil | Value::Missing) {
                out.push_str("<nil>");
            } else {
                out.push_str(a.type_name());
                out.push('=');
                write_v(&mut out, a);
            }
        }
        out.push(')');
    }
    out
}

fn take_num(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(v) = d.to_digit(10) else { break };
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(v as usize)
                .min(1_000_000),
        );
        chars.next();
    }
    n
}

fn bad_verb(out: &mut String, verb: char, arg: &Value<'_>) {
    let _ = write!(out, "%!{verb}(");
    if matches!(arg, Value::Nil | Value::Missing) {
        out.push_str("<nil>");
    } else {
        out.push_str(arg.type_name());
        out.push('=');
        write_v(out, arg);
    }
    out.push(')');
}

/// Pads `body` (with an optional sign/prefix already in `sign`) to width.
fn pad(out: &mut String, spec: &Spec, sign: &str, body: &str, numeric_zero: bool) {
    let len = sign.chars().count() + body.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(sign);
        out.push_str(body);
        return;
    }
    let fill = w - len;
    if spec.minus {
        out.push_str(sign);
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric_zero {
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(body);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(sign);
        out.push_str(body);
    }
}

fn sign_of(neg: bool, spec: &Spec) -> &'static str {
    if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn format_int(out: &mut String, verb: char, spec: &Spec, i: i64) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let (mut digits, prefix) = match verb {
        'd' | 'v' => (u.to_string(), ""),
        'b' => (format!("{u:b}"), if spec.sharp { "0b" } else { "" }),
        'o' => (format!("{u:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{u:o}"), "0o"),
        'x' => (format!("{u:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{u:X}"), if spec.sharp { "0X" } else { "" }),
        _ => unreachable_int(),
    };
    if let Some(p) = spec.prec {
        if p == 0 && i == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let sign = format!("{}{}", sign_of(neg, spec), prefix);
    pad(out, spec, &sign, &digits, spec.prec.is_none());
}

fn unreachable_int() -> (String, &'static str) {
    (String::new(), "")
}

fn format_str(out: &mut String, spec: &Spec, s: &str) {
    let s = match spec.prec {
        Some(p) => match s.char_indices().nth(p) {
            Some((i, _)) => &s[..i],
            None => s,
        },
        None => s,
    };
    pad(out, spec, "", s, true);
}

fn format_one(out: &mut String, verb: char, spec: &Spec, arg: &Value<'_>) {
    if verb == 'T' {
        format_str(out, spec, arg.type_name());
        return;
    }
    match arg {
        Value::Bool(b) => match verb {
            't' | 'v' => format_str(out, spec, if *b { "true" } else { "false" }),
            _ => bad_verb(out, verb, arg),
        },
        Value::Int(i) => match verb {
            'd' | 'v' | 'b' | 'o' | 'O' | 'x' | 'X' => format_int(out, verb, spec, *i),
            'c' => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                format_str(out, spec, c.encode_utf8(&mut [0; 4]));
            }
            'q' => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                let mut q = String::from('\'');
                quote_char_into(&mut q, c, '\'', spec.plus);
                q.push('\'');
                pad(out, spec, "", &q, false);
            }
            'U' => {
                let s = format!("U+{:04X}", i);
                pad(out, spec, "", &s, false);
            }
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(out, verb, arg),
            _ => bad_verb(out, verb, arg),
        },
        Value::Float(x) => match verb {
            'v' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
                let v = if verb == 'v' { 'g' } else { verb };
                let t = float_text(*x, v, spec.prec, spec.sharp);
                let (neg, body) = match t.strip_prefix('-') {
                    Some(b) => (true, b.to_string()),
                    None => (false, t.trim_start_matches('+').to_string()),
                };
                let sign = if x.is_infinite() && !neg {
                    if spec.space && !spec.plus {
                        " "
                    } else {
                        "+"
                    }
                } else {
                    sign_of(neg, spec)
                };
                pad(out, spec, sign, &body, x.is_finite());
            }
            _ => bad_verb(out, verb, arg),
        },
        Value::Str(s) => match verb {
            's' | 'v' => format_str(out, spec, s),
            'q' => {
                let q = quote(s, spec.plus);
                pad(out, spec, "", &q, false);
            }
            'x' | 'X' => {
                let bytes = match spec.prec {
                    Some(p) => &s.as_bytes()[..p.min(s.len())],
                    None => s.as_bytes(),
                };
                let mut h = String::new();
                for b in bytes {
                    if verb == 'x' {
                        let _ = write!(h, "{b:02x}");
                    } else {
                        let _ = write!(h, "{b:02X}");
                    }
                }
                pad(out, spec, "", &h, false);
            }
            _ => bad_verb(out, verb, arg),
        },
        Value::Time(t) => match verb {
            's' | 'v' => format_str(out, spec, &t.to_string()),
            'q' => {
                let q = quote(&t.to_string(), spec.plus);
                pad(out, spec, "", &q, false);
            }
            _ => bad_verb(out, verb, arg),
        },
        Value::Nil | Value::Missing => match verb {
            'v' => format_str(out, spec, "<nil>"),
            _ => bad_verb(out, verb, arg),
        },
        Value::List(l) => {
            out.push('[');
            for (i, v) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_one(out, verb, spec, v);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_one(out, verb, spec, &Value::Str(k.clone()));
                out.push(':');
                format_one(out, verb, spec, v);
            }
            out.push(']');
        }
        Value::Func(_) => bad_verb(out, verb, arg),
        Value::Struct(s) => {
            if s.pointer {
                out.push('&');
            }
            out.push('{');
            for (i, (_, v)) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_one(out, verb, spec, v);
            }
            out.push('}');
        }
    }
}
