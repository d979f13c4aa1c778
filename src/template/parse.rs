//! The parser: turns the token stream into a tree ([`Node`]s), checking
//! what Go's parser checks (functions defined, variables in scope,
//! `break`/`continue` inside `range`, balanced `end`s), and collecting
//! `define`/`block` bodies by name.

use std::collections::HashMap;

use super::lex::{Item, Tok};
use super::node::{Arg, Branch, Builtin, Command, FuncRef, Node, Num, Pipe};
use super::FuncMap;

/// What parsing produces: the main body and the named definitions.
pub struct Parsed {
    pub root: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

/// A parse error: message and byte offset.
pub struct ParseErr {
    pub msg: String,
    pub pos: usize,
}

type PResult<T> = Result<T, ParseErr>;

/// Deepest nesting of parentheses and blocks accepted (recursion bound).
const MAX_NESTING: usize = 100;

/// How a list of nodes ended.
enum End {
    End(usize),
    Else(usize),
}

struct Parser<'f> {
    items: Vec<Item>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    /// Nesting of parenthesised pipelines and control blocks.
    depth: usize,
    funcs: &'f FuncMap,
    defines: HashMap<String, Vec<Node>>,
}

/// Parses a lexed template.
pub fn parse(items: Vec<Item>, funcs: &FuncMap) -> Result<Parsed, ParseErr> {
    let mut p = Parser {
        items,
        i: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        funcs,
        defines: HashMap::new(),
    };
    let mut root = Vec::new();
    while p.peek().tok != Tok::Eof {
        if p.peek().tok == Tok::Left {
            let save = p.i;
            p.next();
            if p.next_non_space().tok == Tok::Define {
                p.parse_definition()?;
                continue;
            }
            p.i = save;
        }
        match p.text_or_action()? {
            Ok(n) => root.push(n),
            Err(End::End(pos)) => return Err(err(pos, "unexpected {{end}}")),
            Err(End::Else(pos)) => return Err(err(pos, "unexpected {{else}}")),
        }
    }
    Ok(Parsed {
        root,
        defines: p.defines,
    })
}

fn err(pos: usize, msg: impl Into<String>) -> ParseErr {
    ParseErr {
        msg: msg.into(),
        pos,
    }
}

/// Go's `strconv.Unquote` for string and char literals.
pub fn unquote(text: &str) -> Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if let Some(inner) = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        return Ok(inner.replace('\r', ""));
    }
    let (inner, q) = if let Some(i) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        (i, '"')
    } else if let Some(i) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        (i, '\'')
    } else {
        return Err(bad());
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == q || c == '\n' {
            return Err(bad());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Result<u32, String> {
            let s: String = chars.by_ref().take(n).collect();
            if s.len() != n {
                return Err(bad());
            }
            u32::from_str_radix(&s, 16).map_err(|_| bad())
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' if q == '\'' => out.push('\''),
            '"' if q == '"' => out.push('"'),
            'x' => {
                let v = hex(&mut chars, 2)?;
                // A byte escape; only ASCII keeps the string valid UTF-8.
                out.push(char::from_u32(v).filter(|_| v < 0x80).ok_or_else(bad)?);
            }
            'u' => out.push(char::from_u32(hex(&mut chars, 4)?).ok_or_else(bad)?),
            'U' => out.push(char::from_u32(hex(&mut chars, 8)?).ok_or_else(bad)?),
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let s = format!("{e}{rest}");
                let v = u32::from_str_radix(&s, 8).map_err(|_| bad())?;
                if s.len() != 3 || v >= 0x80 {
                    return Err(bad());
                }
                out.push(char::from_u32(v).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    if q == '\'' && out.chars().count() != 1 {
        return Err(bad());
    }
    Ok(out)
}

/// Parses a Go number literal into its ideal-constant value.
fn parse_number(text: &str) -> Result<Num, String> {
    let illegal = || format!("illegal number syntax: {text:?}");
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let is_hex = lower.starts_with("0x");
    let is_float = if is_hex {
        lower.contains('p')
    } else {
        lower.contains(['.', 'e'])
    };
    if is_float {
        let v = if is_hex {
            parse_hex_float(&lower[2..]).ok_or_else(illegal)?
        } else {
            clean.parse::<f64>().map_err(|_| illegal())?
        };
        if v.is_infinite() {
            return Err(illegal());
        }
        return Ok(Num::Float(if neg { -v } else { v }));
    }
    let (radix, digits) = if is_hex {
        (16, &lower[2..])
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let v = u64::from_str_radix(digits, radix).map_err(|e| {
        if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) {
            format!("integer overflow: {text:?}")
        } else {
            illegal()
        }
    })?;
    let v = if neg {
        if v > i64::MAX as u64 + 1 {
            return Err(format!("integer overflow: {text:?}"));
        }
        (v as i128).wrapping_neg() as i64
    } else {
        i64::try_from(v).map_err(|_| format!("{text} overflows int"))?
    };
    Ok(Num::Int(v))
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = s.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = 0f64;
    for c in ip.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in fp.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

impl Parser<'_> {
    fn peek(&self) -> &Item {
        &self.items[self.i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item {
        let it = self.peek().clone();
        self.i += 1;
        it
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.tok != Tok::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
        self.peek().clone()
    }

    fn unexpected(&self, it: &Item, context: &str) -> ParseErr {
        if it.tok == Tok::Eof {
            return err(it.pos, format!("unexpected EOF in {context}"));
        }
        err(
            it.pos,
            format!("unexpected {} in {context}", it.tok.describe()),
        )
    }

    fn expect(&mut self, want: Tok, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.tok != want {
            return Err(self.unexpected(&it, context));
        }
        Ok(it)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let it = self.next_non_space();
        let name = match &it.tok {
            Tok::Str(s) | Tok::RawStr(s) => unquote(s).map_err(|e| err(it.pos, e))?,
            _ => return Err(self.unexpected(&it, context)),
        };
        self.expect(Tok::Right, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if let End::Else(pos) = end {
            return Err(err(pos, format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add_define(name, list, it.pos)
    }

    fn add_define(&mut self, name: String, list: Vec<Node>, pos: usize) -> PResult<()> {
        let empty = |l: &Vec<Node>| {
            l.iter()
                .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
        };
        match self.defines.get(&name) {
            Some(old) if !empty(old) && !empty(&list) => Err(err(
                pos,
                format!("template: multiple definition of template {name:?}"),
            )),
            Some(_) if empty(&list) => Ok(()),
            _ => {
                self.defines.insert(name, list);
                Ok(())
            }
        }
    }

    /// Nodes up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(Vec<Node>, End)> {
        let mut list = Vec::new();
        while self.peek_non_space().tok != Tok::Eof {
            match self.text_or_action()? {
                Ok(n) => list.push(n),
                Err(end) => return Ok((list, end)),
            }
        }
        Err(err(self.peek().pos, "unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Result<Node, End>> {
        let it = self.next_non_space();
        match it.tok {
            Tok::Text(t) => Ok(Ok(Node::Text(t))),
            Tok::Left => self.action(),
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn action(&mut self) -> PResult<Result<Node, End>> {
        let it = self.next_non_space();
        match it.tok {
            Tok::Block => return self.block_control().map(Ok),
            Tok::Break | Tok::Continue => {
                let is_break = it.tok == Tok::Break;
                let word = if is_break { "break" } else { "continue" };
                let t = self.next_non_space();
                if t.tok != Tok::Right {
                    return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(err(it.pos, format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                return Ok(Ok(if is_break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            Tok::Else => {
                let peek = self.peek_non_space();
                if peek.tok == Tok::If || peek.tok == Tok::With {
                    return Ok(Err(End::Else(it.pos)));
                }
                self.expect(Tok::Right, "else")?;
                return Ok(Err(End::Else(it.pos)));
            }
            Tok::End => {
                self.expect(Tok::Right, "end")?;
                return Ok(Err(End::End(it.pos)));
            }
            Tok::If => return self.control("if", it.pos).map(|b| Ok(Node::If(b))),
            Tok::Range => return self.control("range", it.pos).map(|b| Ok(Node::Range(b))),
            Tok::With => return self.control("with", it.pos).map(|b| Ok(Node::With(b))),
            Tok::Template => return self.template_control().map(Ok),
            _ => {}
        }
        self.i -= 1;
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", Tok::Right)?;
        Ok(Ok(Node::Action { pos, pipe }))
    }

    fn control(&mut self, context: &str, pos: usize) -> PResult<Box<Branch>> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(err(pos, "max expression depth exceeded"));
        }
        let r = self.control_inner(context, pos);
        self.depth -= 1;
        r
    }

    fn control_inner(&mut self, context: &str, pos: usize) -> PResult<Box<Branch>> {
        let nvars = self.vars.len();
        let pipe = self.pipeline(context, Tok::Right)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let End::Else(epos) = end {
            let peek = self.peek_non_space();
            if context == "if" && peek.tok == Tok::If {
                self.next_non_space();
                let inner = self.control("if", epos)?;
                else_list = Some(vec![Node::If(inner)]);
            } else if context == "with" && peek.tok == Tok::With {
                self.next_non_space();
                let inner = self.control("with", epos)?;
                else_list = Some(vec![Node::With(inner)]);
            } else {
                let (l, end2) = self.item_list()?;
                if let End::Else(p2) = end2 {
                    return Err(err(p2, "expected end; found {{else}}"));
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(nvars);
        let _ = pos;
        Ok(Box::new(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        }))
    }

    /// The quoted name of a `template`/`block`, and its position (which
    /// is where Go places the node).
    fn template_name(&mut self, context: &str) -> PResult<(String, usize)> {
        let it = self.next_non_space();
        match &it.tok {
            Tok::Str(s) | Tok::RawStr(s) => {
                unquote(s).map(|n| (n, it.pos)).map_err(|e| err(it.pos, e))
            }
            _ => Err(self.unexpected(&it, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let (name, pos) = self.template_name(context)?;
        let pipe = if self.next_non_space().tok != Tok::Right {
            self.i -= 1;
            Some(self.pipeline(context, Tok::Right)?)
        } else {
            None
        };
        Ok(Node::Template { pos, name, pipe })
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let (name, pos) = self.template_name(context)?;
        let pipe = self.pipeline(context, Tok::Right)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        self.range_depth = saved_depth;
        if let End::Else(p) = end {
            return Err(err(p, format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add_define(name.clone(), list, pos)?;
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $v :=`.
        loop {
            let v = self.peek_non_space();
            let Tok::Variable(name) = &v.tok else { break };
            let save = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.tok {
                Tok::Declare | Tok::Assign => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space();
                    if pipe.is_assign && !self.vars.contains(name) {
                        return Err(err(v.pos, format!("undefined variable {name:?}")));
                    }
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    break;
                }
                Tok::Char(',') => {
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable(_) | Tok::Right | Tok::RParen => continue,
                            _ => return Err(err(v.pos, "range can only initialize variables")),
                        }
                    }
                    return Err(err(v.pos, format!("too many declarations in {context}")));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let it = self.next_non_space();
            if it.tok == end {
                if pipe.cmds.is_empty() {
                    return Err(err(it.pos, format!("missing value for {context}")));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args[0],
                        Arg::Bool(..)
                            | Arg::Dot(_)
                            | Arg::Nil(_)
                            | Arg::Number { .. }
                            | Arg::Str { .. }
                    ) {
                        return Err(err(
                            c.pos,
                            format!("non executable command in pipeline stage {}", i + 1),
                        ));
                    }
                }
                return Ok(pipe);
            }
            match it.tok {
                Tok::Bool(_)
                | Tok::CharConst(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(_)
                | Tok::Str(_)
                | Tok::Variable(_)
                | Tok::LParen => {
                    self.i -= 1;
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&it, context)),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let it = self.next();
            match it.tok {
                Tok::Space => continue,
                Tok::Right | Tok::RParen => self.i -= 1,
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(err(pos, "empty command"));
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if let Tok::Field(_) = self.peek().tok {
            let cpos = self.peek().pos;
            let mut fields = Vec::new();
            while let Tok::Field(f) = &self.peek().tok {
                fields.push(f.clone());
                self.next();
            }
            return Ok(Some(match node {
                Arg::Field { pos, mut names } => {
                    names.extend(fields);
                    Arg::Field { pos, names }
                }
                Arg::Variable {
                    pos,
                    name,
                    fields: mut f0,
                } => {
                    f0.extend(fields);
                    Arg::Variable {
                        pos,
                        name,
                        fields: f0,
                    }
                }
                Arg::Bool(..)
                | Arg::Str { .. }
                | Arg::Number { .. }
                | Arg::Nil(_)
                | Arg::Dot(_) => {
                    return Err(err(
                        cpos,
                        format!("unexpected . after term {:?}", node.to_string()),
                    ));
                }
                other => Arg::Chain {
                    pos: cpos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        let pos = it.pos;
        Ok(Some(match it.tok {
            Tok::Ident(name) => {
                let func = if let Some(f) = self.funcs.get(&name) {
                    FuncRef::User(f.clone())
                } else if let Some(i) = self.funcs.late_slot(&name) {
                    let (min, max) = self.funcs.late_arity(i);
                    FuncRef::Late(i, min, max)
                } else if let Some(b) = Builtin::lookup(&name) {
                    FuncRef::Builtin(b)
                } else {
                    return Err(err(pos, format!("function {name:?} not defined")));
                };
                Arg::Ident { pos, name, func }
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err(err(pos, format!("undefined variable {name:?}")));
                }
                Arg::Variable {
                    pos,
                    name,
                    fields: Vec::new(),
                }
            }
            Tok::Field(f) => Arg::Field {
                pos,
                names: vec![f],
            },
            Tok::Bool(b) => Arg::Bool(pos, b),
            Tok::Number(text) => {
                let value = parse_number(&text).map_err(|e| err(pos, e))?;
                Arg::Number { pos, text, value }
            }
            Tok::CharConst(text) => {
                let s = unquote(&text).map_err(|e| err(pos, e))?;
                let c = s.chars().next().map_or(0, |c| c as i64);
                Arg::Number {
                    pos,
                    text,
                    value: Num::Int(c),
                }
            }
            Tok::LParen => {
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(err(pos, "max expression depth exceeded"));
                }
                let p = self.pipeline("parenthesized pipeline", Tok::RParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            Tok::Str(text) | Tok::RawStr(text) => {
                let value = unquote(&text).map_err(|e| err(pos, e))?;
                Arg::Str { pos, text, value }
            }
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }
}
