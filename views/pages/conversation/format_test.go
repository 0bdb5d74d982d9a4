package conversation

import "testing"

func TestFormatWhatsApp(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Hola *Ana*, tu pedido _llegó_ ~ayer~", "Hola <strong>Ana</strong>, tu pedido <em>llegó</em> <s>ayer</s>"},
		{"precio 2*3*4 y snake_case_name", "precio 2*3*4 y snake_case_name"},
		{"* no es negrita*", "<ul class=\"wa-list\"><li>no es negrita*</li></ul>"},
		{"*negrita con _cursiva_ dentro*", "<strong>negrita con <em>cursiva</em> dentro</strong>"},
		{"<script>alert(1)</script> *<b>*", "&lt;script&gt;alert(1)&lt;/script&gt; <strong>&lt;b&gt;</strong>"},
		{"```\nSKU  PRECIO\n*A1* 10\n```", "<code class=\"wa-mono\">\nSKU  PRECIO\n*A1* 10\n</code>"},
		{"Lista:\n- uno\n- *dos*\nFin", "Lista:<ul class=\"wa-list\"><li>uno</li><li><strong>dos</strong></li></ul>Fin"},
		{"1. Cemento\n2. Arena", "<ol class=\"wa-list\"><li>Cemento</li><li>Arena</li></ol>"},
		{"> cita\n> larga\nok", "<blockquote class=\"wa-quote\">cita\nlarga</blockquote>ok"},
		{"usa `código` aquí", "usa <code class=\"wa-code\">código</code> aquí"},
		{"sin cerrar *hola", "sin cerrar *hola"},
		{"línea 1\nlínea 2", "línea 1\nlínea 2"},
		{"\"comillas\" & 'apóstrofo'", "&#34;comillas&#34; &amp; &#39;apóstrofo&#39;"},
	}
	for _, c := range cases {
		if got := FormatWhatsApp(c.in); got != c.want {
			t.Errorf("FormatWhatsApp(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
