# ruff: noqa: E501  (email HTML has long lines)
"""Realistic email bodies with big stylesheets (Outlook's Word HTML, a templated marketing email), and
every sentence a reader sees in them. Shared by the hiding tests and benchmark 10."""

from __future__ import annotations

OUTLOOK_SENTENCES = [
    "Hi Pylon support team,",
    "Since this morning our dashboard shows every invoice twice.",
    "We first noticed it at 09:14 CET after the nightly sync.",
    "Steps to reproduce: open Billing, filter by March, export to CSV.",
    "The export contains 212 rows instead of 106.",
    "Could you check whether the sync job ran twice?",
    "This is blocking our month-end close.",
    "Best regards,",
    "Maren Okafor",
    "Head of Finance Operations | Northwind Traders",
    "From: Pylon Support",
    "We are looking into it and will update you within the hour.",
]

_OUTLOOK_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml"
xmlns="http://www.w3.org/TR/REC-html40"><head><meta http-equiv=Content-Type content="text/html; charset=utf-8">
<meta name=Generator content="Microsoft Word 15 (filtered medium)">
<!--[if !mso]><style>v\\:* {behavior:url(#default#VML);}
o\\:* {behavior:url(#default#VML);}
w\\:* {behavior:url(#default#VML);}
.shape {behavior:url(#default#VML);}
</style><![endif]--><style><!--
/* Font Definitions */
@font-face
\t{font-family:"Cambria Math";
\tpanose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
\t{font-family:Calibri;
\tpanose-1:2 15 5 2 2 2 4 3 2 4;}
@font-face
\t{font-family:Aptos;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
\t{margin:0cm;
\tfont-size:11.0pt;
\tfont-family:"Calibri",sans-serif;
\tmso-ligatures:standardcontextual;
\tmso-fareast-language:EN-US;}
a:link, span.MsoHyperlink
\t{mso-style-priority:99;
\tcolor:#0563C1;
\ttext-decoration:underline;}
a:visited, span.MsoHyperlinkFollowed
\t{mso-style-priority:99;
\tcolor:#954F72;
\ttext-decoration:underline;}
p.MsoListParagraph, li.MsoListParagraph, div.MsoListParagraph
\t{mso-style-priority:34;
\tmargin-top:0cm;
\tmargin-right:0cm;
\tmargin-bottom:0cm;
\tmargin-left:36.0pt;
\tfont-size:11.0pt;
\tfont-family:"Calibri",sans-serif;}
span.EmailStyle18
\t{mso-style-type:personal-reply;
\tfont-family:"Calibri",sans-serif;
\tcolor:windowtext;}
span.EmailStyle19
\t{mso-style-type:personal-compose;
\tfont-family:"Aptos",sans-serif;
\tcolor:#1F3864;}
.MsoChpDefault
\t{mso-style-type:export-only;
\tfont-size:10.0pt;
\tmso-ligatures:none;}
@page WordSection1
\t{size:612.0pt 792.0pt;
\tmargin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1
\t{page:WordSection1;}
/* List Definitions */
@list l0
\t{mso-list-id:1102914212;
\tmso-list-type:hybrid;
\tmso-list-template-ids:-1453021654 67698703 67698713 67698715;}
@list l0:level1
\t{mso-level-tab-stop:none;
\tmso-level-number-position:left;
\ttext-indent:-18.0pt;}
ol
\t{margin-bottom:0cm;}
ul
\t{margin-bottom:0cm;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]--></head>"""

_OUTLOOK_BODY = """<body lang=EN-GB link="#0563C1" vlink="#954F72" style='word-wrap:break-word'>
<div class=WordSection1>
<p class=MsoNormal><span style='mso-fareast-language:EN-GB'>Hi Pylon support team,<o:p></o:p></span></p>
<p class=MsoNormal><span style='mso-fareast-language:EN-GB'><o:p>&nbsp;</o:p></span></p>
<p class=MsoNormal>Since this morning our dashboard shows every invoice twice.
We first noticed it at 09:14 CET after the nightly sync.<o:p></o:p></p>
<p class=MsoListParagraph style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]>
<span style='mso-list:Ignore'>1.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span>
<![endif]>Steps to reproduce: open Billing, filter by March, export to CSV.<o:p></o:p></p>
<p class=MsoListParagraph style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>
<span style='font-size:10.5pt;font-family:"Aptos",sans-serif;color:#1F3864;mso-ligatures:none'>
The export contains 212 rows instead of 106.</span><o:p></o:p></p>
<p class=MsoNormal><b><span style='color:#C00000'>Could you check whether the sync job ran twice?</span></b>
<span style='font-size:10.0pt;color:#7F7F7F'> This is blocking our month-end close.</span><o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal><span class=EmailStyle18>Best regards,<o:p></o:p></span></p>
<table class=MsoNormalTable border=0 cellspacing=0 cellpadding=0 style='border-collapse:collapse;
mso-table-lspace:0pt;mso-table-rspace:0pt;mso-yfti-tbllook:1184;mso-padding-alt:0cm 0cm 0cm 0cm'>
<tr style='mso-yfti-irow:0;mso-yfti-firstrow:yes;mso-yfti-lastrow:yes'>
<td width=340 valign=top style='width:255.0pt;border:none;border-right:solid #BFBFBF 1.0pt;
padding:0cm 5.4pt 0cm 5.4pt;mso-border-right-alt:solid #BFBFBF .5pt'>
<p class=MsoNormal style='line-height:115%'><b><span style='font-size:10.0pt;line-height:115%;
font-family:"Segoe UI",sans-serif;color:#262626;letter-spacing:.2pt'>Maren Okafor</span></b></p>
<p class=MsoNormal style='line-height:115%;tab-stops:45.8pt 91.6pt'><span style='font-size:9.0pt;
line-height:115%;font-family:"Segoe UI",sans-serif;color:#595959'>
Head of Finance Operations | Northwind Traders</span></p></td></tr></table>
<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>
<p class=MsoNormal><b><span lang=EN-US style='mso-ansi-language:EN-US'>From: Pylon Support</span></b></p>
</div>
<p class=MsoNormal style='margin-left:36.0pt;background:#F2F2F2'><span style='color:windowtext'>
We are looking into it and will update you within the hour.</span></p>
<p class=MsoNormal style='mso-margin-top-alt:auto;mso-margin-bottom-alt:auto'><span
style='font-size:1.0pt;line-height:1.0pt;color:white;mso-hide:all'>&nbsp;</span></p>
</div></body></html>"""

OUTLOOK_EMAIL = _OUTLOOK_HEAD + _OUTLOOK_BODY


MARKETING_SENTENCES = [
    "Your March usage report is ready",
    "Hello Maren, here is what changed in your workspace this month.",
    "Tickets resolved: 1,284",
    "Median first response: 14 minutes",
    "Customer satisfaction rose to 94%",
    "Open the full report",
    "New: routing rules for VIP accounts",
    "Send urgent issues from your largest customers straight to a senior agent.",
    "Read the guide",
    "You are receiving this email because you are an admin of Northwind Traders.",
    "Unsubscribe",
    "Pylon Labs, 548 Market St, San Francisco",
]

_MARKETING_CSS = """
/* CLIENT-SPECIFIC STYLES */
#outlook a { padding:0; }
.ReadMsgBody { width:100%; } .ExternalClass { width:100%; }
.ExternalClass, .ExternalClass p, .ExternalClass span, .ExternalClass font, .ExternalClass td,
.ExternalClass div { line-height:100%; }
body, table, td, a { -webkit-text-size-adjust:100%; -ms-text-size-adjust:100%; }
table, td { mso-table-lspace:0pt; mso-table-rspace:0pt; }
img { -ms-interpolation-mode:bicubic; border:0; height:auto; line-height:100%; outline:none;
      text-decoration:none; }
/* RESET STYLES */
body { height:100% !important; margin:0 !important; padding:0 !important; width:100% !important;
       background-color:#f4f5f7; }
table { border-collapse:collapse !important; }
a[x-apple-data-detectors] { color:inherit !important; text-decoration:none !important;
  font-size:inherit !important; font-family:inherit !important; font-weight:inherit !important;
  line-height:inherit !important; }
u + #body a { color:inherit; text-decoration:none; font-size:inherit; font-family:inherit;
  font-weight:inherit; line-height:inherit; }
#MessageViewBody a { color:inherit; text-decoration:none; font-size:inherit; }
div[style*="margin: 16px 0;"] { margin:0 !important; }
:root { color-scheme: light dark; supported-color-schemes: light dark; }
/* PREHEADER (hidden on purpose) */
.preheader { display:none !important; visibility:hidden; mso-hide:all; font-size:1px; color:#f4f5f7;
  line-height:1px; max-height:0; max-width:0; opacity:0; overflow:hidden; }
/* TYPOGRAPHY */
h1, h2, h3 { font-family:'Inter', Helvetica, Arial, sans-serif; margin:0; padding:0; }
h1 { font-size:32px; line-height:40px; font-weight:700; letter-spacing:-0.5px; color:#ffffff; }
h2 { font-size:22px; line-height:30px; font-weight:600; color:#1b1f3b; }
p { margin:0 0 16px 0; font-size:16px; line-height:24px; color:#3c4257; }
.hero { background-color:#1b1f3b; background-image:url(https://cdn.example/hero.png);
  background-size:cover; background-position:center top; }
.hero p { color:#c9ccf5; }
.stat { font-size:28px; font-weight:700; color:#5b5bd6; }
.stat-label { font-size:13px; text-transform:uppercase; letter-spacing:1px; color:#6b7280; }
.card { background:#ffffff; border-radius:8px; box-shadow:0 1px 3px rgba(0,0,0,0.08); }
.button-td { border-radius:6px; background:#5b5bd6; }
.button-a { background:#5b5bd6; border:1px solid #5b5bd6; font-family:sans-serif; font-size:15px;
  line-height:15px; text-decoration:none; padding:13px 17px; color:#ffffff; display:block;
  border-radius:6px; }
.button-a:hover { background:#4343b8 !important; border-color:#4343b8 !important; }
.footer, .footer p { font-size:12px; line-height:18px; color:#8a8fa3; text-align:center; }
.footer a { color:#8a8fa3; text-decoration:underline; }
.spacer { font-size:0; line-height:0; mso-line-height-rule:exactly; }
.mobile-only { display:none; max-height:0; overflow:hidden; mso-hide:all; }
/* RESPONSIVE */
@media screen and (max-width:600px) {
  .email-container { width:100% !important; margin:auto !important; }
  .fluid { max-width:100% !important; height:auto !important; margin-left:auto !important;
    margin-right:auto !important; }
  .stack-column, .stack-column-center { display:block !important; width:100% !important;
    max-width:100% !important; direction:ltr !important; }
  .stack-column-center { text-align:center !important; }
  .center-on-narrow { text-align:center !important; display:block !important;
    margin-left:auto !important; margin-right:auto !important; float:none !important; }
  .desktop-only { display:none !important; }
  .mobile-only { display:block !important; max-height:none !important; }
  h1 { font-size:26px !important; line-height:32px !important; }
}
@media only screen and (max-device-width:480px) { .hide-small { display:none !important; } }
@media (prefers-color-scheme: dark) {
  .darkmode-bg { background-color:#111827 !important; }
  .darkmode-text, .darkmode-text p { color:#f9fafb !important; }
  .footer, .footer p, .footer a { color:#9ca3af !important; }
}
[data-ogsc] .darkmode-text { color:#f9fafb !important; }
@media print { .no-print { display:none !important; } }
@supports (-webkit-appearance:none) { .button-a { -webkit-appearance:none; } }
@keyframes pulse { from { opacity:1; } to { opacity:0.6; } }
"""


def _utility_classes(target: int) -> str:
    """Framework output (Foundation for Emails, MJML, Tailwind-for-email): many small rules."""
    rules = []
    n = 0
    size = 0
    while size < target:
        rules.append(
            f".mj-column-per-{n} {{ width:{n % 100}% !important; max-width:{n % 100}%; }}\n"
            f".m-{n} {{ margin:{n % 40}px !important; }} .p-{n} {{ padding:{n % 40}px {n % 24}px; }}\n"
            f".text-{n} {{ font-size:{10 + n % 30}px; line-height:{14 + n % 30}px; color:#{(n * 2654435761) % 0x555555:06x}; }}\n"
            f"th.small-{n % 12 + 1}, td.large-{n % 12 + 1} {{ width:{(n % 12 + 1) * 8.33:.2f}%; "
            f"padding-left:16px; padding-right:16px; }}\n"
            f"@media only screen and (max-width:{480 + n % 200}px) {{ .sm-w-{n} {{ width:100% !important; }} "
            f".sm-hide-{n} {{ display:none !important; }} }}\n"
        )
        size += len(rules[-1])
        n += 1
    return "".join(rules)


def marketing_css(target: int = 50_000) -> str:
    return _MARKETING_CSS + _utility_classes(target - len(_MARKETING_CSS))


def marketing_email(css: str | None = None) -> str:
    css = marketing_css() if css is None else css
    return f"""<!DOCTYPE html><html lang="en" xmlns="http://www.w3.org/1999/xhtml"
xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="x-apple-disable-message-reformatting">
<meta name="color-scheme" content="light dark"><title>Your March usage report</title>
<!--[if mso]><style>* {{ font-family: Arial, sans-serif !important; }} td, th, div, p, a, h1, h2, h3
{{ font-family: Arial, sans-serif; mso-line-height-rule: exactly; }}</style><![endif]-->
<style>{css}</style></head>
<body id="body" width="100%" style="margin:0; padding:0 !important; mso-line-height-rule:exactly; background-color:#f4f5f7;">
<center role="article" aria-roledescription="email" lang="en" style="width:100%; background-color:#f4f5f7;">
<!--[if mso | IE]><table role="presentation" border="0" cellpadding="0" cellspacing="0" width="100%"
style="background-color:#f4f5f7;"><tr><td><![endif]-->
<div class="preheader" style="display:none; font-size:1px; line-height:1px; max-height:0px; max-width:0px;
opacity:0; overflow:hidden; mso-hide:all; font-family:sans-serif;">Your numbers for March are in &zwnj;&nbsp;&zwnj;&nbsp;</div>
<div class="email-container" style="max-width:600px; margin:0 auto;">
<table role="presentation" cellspacing="0" cellpadding="0" border="0" width="100%" style="margin:auto;">
<tr><td class="hero darkmode-bg" bgcolor="#1b1f3b" style="padding:40px 30px; text-align:center;">
<h1 style="margin:0 0 10px 0;">Your March usage report is ready</h1>
<p style="margin:0; font-size:16px;">Hello Maren, here is what changed in your workspace this month.</p>
</td></tr>
<tr><td class="card darkmode-bg" style="padding:20px 30px; background-color:#ffffff;">
<table role="presentation" width="100%"><tr>
<td class="stack-column-center" style="font-size:0; text-align:center;" valign="top">
<div style="display:inline-block; max-width:33%; min-width:160px; vertical-align:top; width:100%; font-size:14px;">
<p class="stat-label darkmode-text">Tickets resolved: <span class="stat">1,284</span></p></div>
<div style="display:inline-block; max-width:33%; min-width:160px; vertical-align:top; width:100%; font-size:14px;">
<p class="stat-label darkmode-text">Median first response: <span class="stat">14 minutes</span></p></div>
<div style="display:inline-block; max-width:33%; min-width:160px; vertical-align:top; width:100%; font-size:14px;">
<p class="stat-label darkmode-text">Customer satisfaction rose to <span class="stat">94%</span></p></div>
</td></tr></table>
<table role="presentation" cellspacing="0" cellpadding="0" border="0" style="margin:20px auto;"><tr>
<td class="button-td button-td-primary" style="border-radius:6px;" bgcolor="#5b5bd6">
<a class="button-a button-a-primary" href="https://app.example/reports/march" style="background:#5b5bd6;
border:1px solid #5b5bd6; color:#ffffff;">Open the full report</a></td></tr></table>
<div class="spacer" style="height:20px; font-size:0; line-height:0;">&nbsp;</div>
<h2 class="darkmode-text" style="margin:0 0 8px 0;">New: routing rules for VIP accounts</h2>
<p class="darkmode-text text-3 m-0">Send urgent issues from your largest customers straight to a senior agent.</p>
<p style="margin:0;"><a href="https://docs.example/routing" style="color:#5b5bd6; font-weight:600;">Read the guide</a></p>
<div class="mobile-only">Tap to open the report in the app</div>
</td></tr>
<tr><td class="footer" style="padding:24px 30px; font-family:sans-serif;">
<p>You are receiving this email because you are an admin of Northwind Traders.</p>
<p><a href="https://app.example/unsubscribe"><unsubscribe>Unsubscribe</unsubscribe></a></p>
<p style="color:#8a8fa3;">Pylon Labs, 548 Market St, San Francisco</p>
</td></tr></table></div>
<!--[if mso | IE]></td></tr></table><![endif]-->
</center></body></html>"""
