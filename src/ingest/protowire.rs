//! A minimal protobuf wire-format reader for hot decoding paths: reads
//! keys, varints, fixed64 and length-delimited fields, borrowing strings
//! from the buffer instead of allocating. Every read is bounds-checked.

pub struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Wire { buf, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn varint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    /// A field key: (field number, wire type).
    pub fn key(&mut self) -> Result<(u32, u8), String> {
        let k = self.varint()?;
        let field = u32::try_from(k >> 3).map_err(|_| "field number out of range".to_string())?;
        if field == 0 {
            return Err("invalid field number 0".into());
        }
        Ok((field, (k & 7) as u8))
    }

    pub fn fixed64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.buf.get(self.pos..end).ok_or("truncated field")?;
        self.pos = end;
        Ok(s)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length overflow".to_string())?;
        self.take(n)
    }

    pub fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "invalid UTF-8 in string field".to_string())
    }

    /// Skips a field of the given wire type.
    pub fn skip(&mut self, wire: u8) -> Result<(), String> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.take(8).map(|_| ()),
            2 => self.bytes().map(|_| ()),
            5 => self.take(4).map(|_| ()),
            other => Err(format!("unsupported wire type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_rejects_truncation() {
        // field 1 varint 150, field 2 string "hi", field 3 fixed64
        let mut buf = vec![0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19];
        buf.extend_from_slice(&7u64.to_le_bytes());
        let mut w = Wire::new(&buf);
        assert_eq!(w.key().unwrap(), (1, 0));
        assert_eq!(w.varint().unwrap(), 150);
        assert_eq!(w.key().unwrap(), (2, 2));
        assert_eq!(w.str().unwrap(), "hi");
        assert_eq!(w.key().unwrap(), (3, 1));
        assert_eq!(w.fixed64().unwrap(), 7);
        assert!(w.is_empty());
        let mut t = Wire::new(&buf[..5]);
        t.key().unwrap();
        t.varint().unwrap();
        t.key().unwrap();
        assert!(t.str().is_err());
        assert!(Wire::new(&[0xff; 11]).varint().is_err());
    }
}
