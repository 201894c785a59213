//! Throughput of slip computation and PDF rendering (target: ≥ 500 PDFs/s per core).
#![allow(clippy::unwrap_used, reason = "a benchmark should stop loudly on a setup failure")]

use criterion::{Criterion, criterion_group, criterion_main};
use slipgate_payroll::{PayScale, PdfRenderer, SlipInput};

fn seed() -> SlipInput<'static> {
    SlipInput {
        emp_id: "01234",
        emp_code: "ENG",
        emp_name: "John Doe",
        emp_grade: "7.1",
        year: 2025,
        month: 5,
        working_days: 24,
    }
}

fn benches(c: &mut Criterion) {
    let scale = PayScale::builtin().unwrap();
    let at = time::OffsetDateTime::UNIX_EPOCH;
    c.bench_function("compute seed slip", |b| {
        b.iter(|| scale.compute(std::hint::black_box(&seed()), "slip".to_owned(), at).unwrap())
    });
    let slip = scale.compute(&seed(), "7d0c1f6e-0000-4000-8000-000000000001".to_owned(), at).unwrap();
    let renderer = PdfRenderer::new().unwrap();
    c.bench_function("render seed slip pdf", |b| {
        b.iter(|| renderer.render(std::hint::black_box(&slip)).unwrap())
    });
    c.bench_function("PdfRenderer::new", |b| b.iter(|| PdfRenderer::new().unwrap()));
}

criterion_group!(pdf, benches);
criterion_main!(pdf);
