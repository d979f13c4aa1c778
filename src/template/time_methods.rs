//! Methods of Go's `time.Time` reachable from templates as fields
//! (`{{ __timestamp__.Unix }}`, `{{ $t.Format "2006" }}`).

use std::borrow::Cow;

use super::time::Time;
use super::value::Value;

fn no_args(name: &str, args: &[Value<'_>]) -> Result<(), String> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want 0 got {}",
            args.len()
        ))
    }
}

/// Calls method `name` of `t`.
pub fn call<'a>(t: &Time, name: &str, args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let civil = |layout: &str| -> i64 { t.format(layout).trim().parse().unwrap_or(0) };
    let v = match name {
        "Format" => {
            return match args {
                [Value::Str(l)] => Ok(Value::Str(Cow::Owned(t.format(l)))),
                [other] => Err(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                )),
                _ => Err(format!(
                    "wrong number of args for Format: want 1 got {}",
                    args.len()
                )),
            }
        }
        "Unix" => Value::Int(t.secs),
        "UnixMilli" => Value::Int(t.unix_millis()),
        "UnixMicro" => Value::Int(
            t.secs
                .saturating_mul(1_000_000)
                .saturating_add(t.nanos as i64 / 1000),
        ),
        "UnixNano" => Value::Int(t.unix_nanos()),
        "Year" => Value::Int(civil("2006")),
        "Month" => Value::Str(Cow::Owned(t.format("January"))),
        "Day" => Value::Int(civil("2")),
        "Hour" => Value::Int(civil("15")),
        "Minute" => Value::Int(civil("4")),
        "Second" => Value::Int(civil("5")),
        "Nanosecond" => Value::Int(t.nanos as i64),
        "YearDay" => Value::Int(civil("__2")),
        "Weekday" => Value::Str(Cow::Owned(t.format("Monday"))),
        "UTC" | "Local" => Value::Time(t.utc()),
        "String" => Value::Str(Cow::Owned(t.to_string())),
        "IsZero" => Value::Bool(t.secs == super::time::ZERO_TIME_SECS && t.nanos == 0),
        _ => return Err(format!("can't evaluate field {name} in type time.Time")),
    };
    no_args(name, args)?;
    Ok(v)
}
