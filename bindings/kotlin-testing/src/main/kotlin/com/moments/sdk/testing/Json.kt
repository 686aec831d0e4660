package com.moments.sdk.testing

/**
 * The little JSON the control API needs, without a JSON library on the test classpath: objects are
 * `Map<String, Any?>`, arrays `List<Any?>`, numbers `Long` (or `Double` with a fraction or exponent).
 */
internal object Json {
    fun parse(text: String): Any? {
        val p = Parser(text)
        val value = p.value()
        p.skipSpace()
        if (p.i != text.length) p.fail("trailing characters")
        return value
    }

    fun write(value: Any?): String = StringBuilder().also { write(value, it) }.toString()

    private fun write(value: Any?, out: StringBuilder) {
        when (value) {
            null -> out.append("null")
            is String -> quote(value, out)
            is Boolean, is Int, is Long -> out.append(value.toString())
            is Map<*, *> -> {
                out.append('{')
                var first = true
                for ((k, v) in value) {
                    if (!first) out.append(',')
                    first = false
                    quote(k.toString(), out)
                    out.append(':')
                    write(v, out)
                }
                out.append('}')
            }
            is Iterable<*> -> {
                out.append('[')
                value.forEachIndexed { i, v ->
                    if (i > 0) out.append(',')
                    write(v, out)
                }
                out.append(']')
            }
            else -> quote(value.toString(), out)
        }
    }

    private fun quote(s: String, out: StringBuilder) {
        out.append('"')
        for (c in s) {
            when {
                c == '"' -> out.append("\\\"")
                c == '\\' -> out.append("\\\\")
                c == '\n' -> out.append("\\n")
                c == '\r' -> out.append("\\r")
                c == '\t' -> out.append("\\t")
                c < ' ' -> out.append(String.format("\\u%04x", c.code))
                else -> out.append(c)
            }
        }
        out.append('"')
    }

    private class Parser(val s: String) {
        var i = 0

        fun fail(why: String): Nothing = throw IllegalArgumentException("invalid JSON at $i: $why")

        fun skipSpace() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            skipSpace()
            if (i >= s.length) fail("unexpected end")
            return when (s[i]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> num()
            }
        }

        fun literal(word: String, v: Any?): Any? {
            if (!s.startsWith(word, i)) fail("expected $word")
            i += word.length
            return v
        }

        fun obj(): Map<String, Any?> {
            val m = LinkedHashMap<String, Any?>()
            i++
            skipSpace()
            if (s[i] == '}') return m.also { i++ }
            while (true) {
                skipSpace()
                val k = str()
                skipSpace()
                if (s[i++] != ':') fail("expected :")
                m[k] = value()
                skipSpace()
                when (s[i++]) {
                    ',' -> continue
                    '}' -> return m
                    else -> fail("expected , or }")
                }
            }
        }

        fun arr(): List<Any?> {
            val l = ArrayList<Any?>()
            i++
            skipSpace()
            if (s[i] == ']') return l.also { i++ }
            while (true) {
                l.add(value())
                skipSpace()
                when (s[i++]) {
                    ',' -> continue
                    ']' -> return l
                    else -> fail("expected , or ]")
                }
            }
        }

        fun str(): String {
            if (s[i] != '"') fail("expected a string")
            i++
            val b = StringBuilder()
            while (true) {
                val c = s[i++]
                when (c) {
                    '"' -> return b.toString()
                    '\\' -> when (val e = s[i++]) {
                        'n' -> b.append('\n')
                        't' -> b.append('\t')
                        'r' -> b.append('\r')
                        'b' -> b.append('\b')
                        'f' -> b.append('\u000c')
                        'u' -> b.append(s.substring(i, i + 4).toInt(16).toChar()).also { i += 4 }
                        else -> b.append(e)
                    }
                    else -> b.append(c)
                }
            }
        }

        fun num(): Number {
            val start = i
            while (i < s.length && (s[i].isDigit() || s[i] in "+-.eE")) i++
            val t = s.substring(start, i)
            if (t.isEmpty()) fail("unexpected character")
            return t.toLongOrNull() ?: t.toDouble()
        }
    }
}

/** Typed reads of a parsed JSON object. */
internal class Obj(val map: Map<String, Any?>) {
    fun str(k: String): String = map[k] as? String ?: throw MockException.Transport("missing `$k` in $map")
    fun strOrNull(k: String): String? = map[k] as? String
    fun long(k: String): Long = (map[k] as? Number)?.toLong() ?: throw MockException.Transport("missing `$k` in $map")
    fun longOrNull(k: String): Long? = (map[k] as? Number)?.toLong()
    fun bool(k: String): Boolean = map[k] as? Boolean ?: false
    fun instant(k: String): java.time.Instant = java.time.Instant.parse(str(k))
    fun instantOrNull(k: String): java.time.Instant? = strOrNull(k)?.let(java.time.Instant::parse)
    fun strings(k: String): List<String> = (map[k] as? List<*>)?.map { it.toString() } ?: emptyList()

    @Suppress("UNCHECKED_CAST")
    fun objs(k: String): List<Obj> = (map[k] as? List<*>)?.map { Obj(it as Map<String, Any?>) } ?: emptyList()

    companion object {
        @Suppress("UNCHECKED_CAST")
        fun parse(text: String): Obj = Obj(Json.parse(text) as? Map<String, Any?> ?: throw MockException.Transport("not a JSON object: $text"))
    }
}
