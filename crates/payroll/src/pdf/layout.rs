//! Page layout: header, employee block, earnings and deductions side by side,
//! totals, net pay with words, footer.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use slipgate_proto::Slip;

use crate::slip::Logo;

use super::font::FontUse;
use super::{A4_HEIGHT, A4_WIDTH, PdfError, PdfRenderer};

const MIN_SIZE: f32 = 4.0;
const F_REGULAR: Name<'static> = Name(b"F1");
const F_BOLD: Name<'static> = Name(b"F2");

#[derive(Clone, Copy)]
enum Style {
    Regular,
    Bold,
}

struct Page<'f> {
    content: Content,
    regular: FontUse<'f>,
    bold: FontUse<'f>,
}

impl<'f> Page<'f> {
    fn font(&mut self, style: Style) -> (&mut FontUse<'f>, Name<'static>) {
        match style {
            Style::Regular => (&mut self.regular, F_REGULAR),
            Style::Bold => (&mut self.bold, F_BOLD),
        }
    }

    fn width(&mut self, style: Style, text: &str, size: f32) -> f32 {
        self.font(style).0.face().width(text, size)
    }

    /// The largest size ≤ `size` at which `text` fits in `max_width`.
    fn fit(&mut self, style: Style, text: &str, size: f32, max_width: f32) -> f32 {
        let w = self.width(style, text, size);
        if w <= max_width || w <= 0.0 { size } else { (size * max_width / w).max(MIN_SIZE) }
    }

    fn text(&mut self, style: Style, size: f32, x: f32, y: f32, text: &str) {
        let (font, name) = self.font(style);
        let bytes = font.encode(text);
        self.content.begin_text().set_font(name, size).next_line(x, y).show(Str(&bytes)).end_text();
    }

    /// `text` shrunk to fit between `x` and `x + max_width`.
    fn text_fit(&mut self, style: Style, size: f32, x: f32, y: f32, max_width: f32, text: &str) {
        let size = self.fit(style, text, size, max_width);
        self.text(style, size, x, y, text);
    }

    fn text_right(&mut self, style: Style, size: f32, right: f32, y: f32, text: &str) {
        let w = self.width(style, text, size);
        self.text(style, size, right - w, y, text);
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.content.set_line_width(0.6).move_to(x1, y).line_to(x2, y).stroke();
    }

    fn band(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.content.set_fill_gray(0.9).rect(x, y, w, h).fill_nonzero().set_fill_gray(0.0);
    }
}

/// Where things go, from the scale's margins.
#[derive(Clone, Copy)]
struct Frame {
    left: f32,
    right: f32,
    mid: f32,
    bottom: f32,
}

/// The largest box a logo is scaled into (points), keeping its aspect ratio.
const LOGO_MAX_W: f32 = 140.0;
const LOGO_MAX_H: f32 = 56.0;
const IM_LOGO: Name<'static> = Name(b"Im1");

pub(super) fn render(r: &PdfRenderer, slip: &Slip) -> Result<Vec<u8>, PdfError> {
    let mut page =
        Page { content: Content::new(), regular: FontUse::new(&r.regular), bold: FontUse::new(&r.bold) };
    let p = &mut page;
    let layout = &r.layout;
    let labels = layout.labels();
    let group = |amount: &str| layout.grouping().apply(amount);
    let m = layout.margins();
    let f = Frame {
        left: m.left,
        right: A4_WIDTH - m.right,
        mid: (m.left + A4_WIDTH - m.right) / 2.0,
        bottom: m.bottom,
    };
    let top = A4_HEIGHT - m.top;
    let mut y = top - 12.0;

    let logo_w = match layout.logo() {
        Some(logo) => {
            let scale = (LOGO_MAX_W / logo.width as f32).min(LOGO_MAX_H / logo.height as f32);
            let (w, h) = (logo.width as f32 * scale, logo.height as f32 * scale);
            p.content.save_state().transform([w, 0.0, 0.0, h, f.right - w, top - h]).x_object(IM_LOGO);
            p.content.restore_state();
            w + 12.0
        }
        None => 0.0,
    };
    let company = layout.employer().unwrap_or("Slipgate");
    p.text_fit(Style::Bold, 16.0, f.left, y, f.right - f.left - logo_w, company);
    for line in layout.address() {
        y -= 12.0;
        p.text_fit(Style::Regular, 9.0, f.left, y, f.right - f.left - logo_w, line);
    }
    if layout.logo().is_some() {
        y = y.min(top - LOGO_MAX_H);
    }
    y -= 22.0;
    let title = format!("{} {}", labels.title, month_title(&slip.period.month));
    p.text_fit(Style::Bold, 13.0, f.left, y, f.right - f.left, &title);
    y -= 12.0;
    p.rule(f.left, f.right, y);

    y -= 20.0;
    let e = &slip.employee;
    let label_w = 90.0;
    p.text_fit(Style::Regular, 10.0, f.left, y, label_w - 4.0, &labels.employee_name);
    p.text_fit(Style::Bold, 10.0, f.left + label_w, y, f.right - f.left - label_w, &e.emp_name);
    let basis = slip.period.basis_days.to_string();
    let worked = slip.period.working_days.to_string();
    let lop = slip.period.basis_days.saturating_sub(slip.period.working_days).to_string();
    let issued = long_date(&slip.generated_at);
    let pairs: [[(&str, &str); 2]; 4] = [
        [(&labels.employee_id, &e.emp_id), (&labels.pay_period, &slip.period.month)],
        [(&labels.employee_code, &e.emp_code), (&labels.basis_days, &basis)],
        [(&labels.grade, &e.emp_grade), (&labels.paid_days, &worked)],
        [(&labels.issued_on, &issued), (&labels.loss_of_pay_days, &lop)],
    ];
    let value_w = f.mid - f.left - label_w - 12.0;
    for row in pairs {
        y -= 15.0;
        for ((label, value), x) in row.into_iter().zip([f.left, f.mid + 6.0]) {
            p.text_fit(Style::Regular, 10.0, x, y, label_w - 4.0, label);
            p.text_fit(Style::Regular, 10.0, x + label_w, y, value_w, value);
        }
    }

    y -= 28.0;
    let amount_head = format!("{} ({})", labels.amount, slip.currency);
    let columns = [(f.left, f.mid - 5.5, &labels.earnings), (f.mid + 5.5, f.right, &labels.deductions)];
    for (x1, x2, head) in columns {
        p.band(x1, y - 5.0, x2 - x1, 18.0);
        let head_w = p.width(Style::Bold, &amount_head, 10.0);
        p.text_fit(Style::Bold, 10.0, x1 + 6.0, y, x2 - x1 - head_w - 18.0, head);
        p.text_right(Style::Bold, 10.0, x2 - 6.0, y, &amount_head);
    }
    let rows = slip.earnings.len().max(slip.deductions.len()).max(1);
    // Room for rows down to the totals, net pay and footer: keep one page.
    let room = (y - f.bottom - 150.0).max(60.0);
    let step = (room / rows as f32).clamp(4.0, 16.0);
    let size = (step * 0.65).min(10.0);
    for (items, (x1, x2, _)) in [(&slip.earnings, columns[0]), (&slip.deductions, columns[1])] {
        let mut row_y = y - 4.0;
        for item in items {
            row_y -= step;
            line_item(p, &item.label, &group(&item.amount), x1, x2, row_y, size);
        }
    }
    y -= 4.0 + step * rows as f32 + 14.0;
    p.rule(f.left, f.right, y + 8.0);
    let totals = [
        (&labels.gross_earnings, group(&slip.gross_earnings)),
        (&labels.total_deductions, group(&slip.total_deductions)),
    ];
    for ((label, amount), (x1, x2, _)) in totals.into_iter().zip(columns) {
        let amount_w = p.width(Style::Bold, &amount, 10.0);
        p.text_fit(Style::Bold, 10.0, x1 + 6.0, y - 6.0, x2 - x1 - amount_w - 20.0, label);
        p.text_right(Style::Bold, 10.0, x2 - 6.0, y - 6.0, &amount);
    }

    y -= 40.0;
    p.band(f.left, y - 7.0, f.right - f.left, 24.0);
    let net = format!("{} {}", slip.currency, group(&slip.net_pay));
    let net_w = p.width(Style::Bold, &net, 12.0);
    p.text_fit(Style::Bold, 12.0, f.left + 6.0, y, f.right - f.left - net_w - 24.0, &labels.net_pay);
    p.text_right(Style::Bold, 12.0, f.right - 6.0, y, &net);
    y -= 24.0;
    let words_x = f.left + p.width(Style::Regular, &labels.in_words, 10.0).min(150.0) + 6.0;
    p.text_fit(Style::Regular, 10.0, f.left, y, words_x - f.left - 6.0, &labels.in_words);
    for line in wrap(p, &slip.net_pay_in_words, 10.0, f.right - words_x) {
        p.text(Style::Regular, 10.0, words_x, y, &line);
        y -= 13.0;
    }

    let footer = [format!("{} {}", labels.slip_id, slip.slip_id), labels.footer.clone()];
    let mut fy = f.bottom + 12.0;
    for line in footer {
        p.text_fit(Style::Regular, 8.0, f.left, fy, f.right - f.left, &line);
        fy -= 12.0;
    }

    finish(page, &slip.slip_id, layout.logo())
}

fn line_item(p: &mut Page<'_>, label: &str, amount: &str, x1: f32, x2: f32, y: f32, size: f32) {
    let amount_w = p.width(Style::Regular, amount, size);
    p.text_fit(Style::Regular, size, x1 + 6.0, y, x2 - x1 - amount_w - 20.0, label);
    p.text_right(Style::Regular, size, x2 - 6.0, y, amount);
}

/// Greedy word wrap; a single over-long word shrinks nothing and just overflows
/// its line, which the bounded words of an amount never do.
fn wrap(p: &mut Page<'_>, text: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
        if !line.is_empty() && p.width(Style::Regular, &candidate, size) > max_width {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// An RFC 3339 time → its date as "31 May 2025"; anything else is shown as given.
fn long_date(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(t) => format!("{} {} {}", t.day(), t.month(), t.year()),
        Err(_) => rfc3339.to_owned(),
    }
}

/// "2025-05" → "May 2025"; anything else is shown as given.
fn month_title(month: &str) -> String {
    match slipgate_proto::parse_period(month) {
        Some((y, m)) => MONTHS.get(usize::from(m) - 1).map_or(month.to_owned(), |n| format!("{n} {y}")),
        None => month.to_owned(),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn finish(page: Page<'_>, slip_id: &str, logo: Option<&Logo>) -> Result<Vec<u8>, PdfError> {
    let mut next = 1;
    let mut alloc = move || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let (catalog, pages, page_id, content_id, info) = (alloc(), alloc(), alloc(), alloc(), alloc());
    let (regular_id, bold_id) = (alloc(), alloc());

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page_id]).count(1);
    let mut pg = pdf.page(page_id);
    pg.media_box(Rect::new(0.0, 0.0, A4_WIDTH, A4_HEIGHT)).parent(pages).contents(content_id);
    let logo_id = logo.map(|_| alloc());
    let mut resources = pg.resources();
    resources.fonts().pair(F_REGULAR, regular_id).pair(F_BOLD, bold_id);
    if let Some(id) = logo_id {
        resources.x_objects().pair(IM_LOGO, id);
    }
    resources.finish();
    pg.finish();
    if let (Some(id), Some(logo)) = (logo_id, logo) {
        super::logo::write(&mut pdf, id, logo);
    }
    let content = page.content.finish();
    pdf.stream(content_id, &content);
    pdf.document_info(info)
        .title(TextStr("Salary slip"))
        .subject(TextStr(slip_id))
        .producer(TextStr("Slipgate"));
    page.regular.write(&mut pdf, regular_id, &mut alloc)?;
    page.bold.write(&mut pdf, bold_id, &mut alloc)?;
    Ok(pdf.finish())
}
